/** Region → endpoint, in one place (DESIGN §1 "Endpoints"). An override given by the user always wins. */

export type Service = "dcs" | "geminidb";

const HOST_PREFIX: Record<Service, string> = {
  dcs: "dcs",
  geminidb: "gaussdb-nosql",
};

/** Regions whose endpoint does not follow `https://{prefix}.{region}.myhuaweicloud.com`. */
const EXCEPTIONS: Record<Service, Readonly<Record<string, string>>> = {
  dcs: {},
  // The EU sovereign region serves GeminiDB under the .eu domain (DCS stays on .com there).
  geminidb: { "eu-west-101": "https://gaussdb-nosql.eu-west-101.myhuaweicloud.eu" },
};

/**
 * A Huawei Cloud region id: a two-letter area, one or more words, a number (`cn-north-4`, `ap-southeast-1`,
 * `eu-west-101`, `la-north-2`, `my-kualalumpur-1`). Strict on shape, no list of known regions: new regions
 * keep working.
 */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-[0-9]{1,3}$/;

export const REGION_EXAMPLES = "cn-north-4, ap-southeast-1, eu-west-101, la-north-2";

export function isValidRegion(region: string): boolean {
  return REGION_PATTERN.test(region);
}

/** The public endpoint of a service in a region (no trailing slash). The region must be valid. */
export function endpointFor(service: Service, region: string): string {
  if (!isValidRegion(region)) throw new RangeError(`not a region id: ${JSON.stringify(region)}`);
  return EXCEPTIONS[service][region] ?? `https://${HOST_PREFIX[service]}.${region}.myhuaweicloud.com`;
}
