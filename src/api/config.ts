/**
 * Credentials and configuration (DESIGN §3): an explicit option wins over the environment; in the
 * environment the first variable found wins. Errors name options and variables, never their values.
 */
import { inspect } from "node:util";
import { endpointFor, isValidRegion, REGION_EXAMPLES } from "./endpoints";
import { CredentialsError, ValidationError } from "./errors";
import type { ClientOptions, Credentials } from "./types";

/** The environment variables read, in the order they are tried. */
export const ENV_VARS = {
  accessKey: ["HW_ACCESS_KEY", "HUAWEICLOUD_SDK_AK", "CLOUD_SDK_AK"],
  secretKey: ["HW_SECRET_KEY", "HUAWEICLOUD_SDK_SK", "CLOUD_SDK_SK"],
  securityToken: ["HW_SECURITY_TOKEN", "HUAWEICLOUD_SDK_SECURITY_TOKEN"],
  authToken: ["HW_AUTH_TOKEN"],
  region: ["HW_REGION_NAME", "HUAWEICLOUD_SDK_REGION"],
  projectId: ["HW_PROJECT_ID", "HUAWEICLOUD_SDK_PROJECT_ID"],
  endpoint: ["HW_DCS_ENDPOINT"],
  geminidbEndpoint: ["HW_GEMINIDB_ENDPOINT"],
} as const;

type Env = Record<string, string | undefined>;

export interface ResolvedConfig {
  region?: string;
  projectId: string;
  /** DCS endpoint, without a trailing slash. */
  endpoint: string;
  /** GeminiDB endpoint, without a trailing slash. */
  geminidbEndpoint: string;
  /** Prints as `***` through `console.log`, `util.inspect` and `JSON.stringify`. */
  credentials: Credentials;
}

/** Project ids go into every path: letters, digits, `-` and `_` only. */
const PROJECT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

interface Found {
  value: string;
  /** Where the value came from: the option's name or the variable's. */
  source: string;
}

/** Blank counts as unset; surrounding whitespace (a pasted newline) is dropped. */
function present(value: string | undefined): string | undefined {
  const trimmed = typeof value === "string" ? value.trim() : undefined;
  return trimmed ? trimmed : undefined;
}

function firstFound(env: Env, names: readonly string[]): Found | undefined {
  for (const name of names) {
    const value = present(env[name]);
    if (value !== undefined) return { value, source: name };
  }
  return undefined;
}

function optionOrEnv(option: string | undefined, optionName: string, env: Env, names: readonly string[]) {
  // Options can come from untyped callers (JavaScript, Pulumi inputs): refuse what is not text.
  if (option !== undefined && option !== null && typeof option !== "string") {
    throw new ValidationError(optionName, `must be a string, got ${typeof option}`);
  }
  const value = present(option ?? undefined);
  return value !== undefined ? { value, source: optionName } : firstFound(env, names);
}

const describeSource = (found: Found, field: string) =>
  found.source === field ? `the ${field} option` : `the value of ${found.source}`;

function checkRegion(found: Found): string {
  if (!isValidRegion(found.value)) {
    throw new ValidationError(
      "region",
      `${describeSource(found, "region")} is not a region id`,
      `a Huawei Cloud region id such as ${REGION_EXAMPLES}`,
    );
  }
  return found.value;
}

function checkProjectId(found: Found | undefined): string {
  if (!found) {
    throw new ValidationError(
      "projectId",
      `missing; set the projectId option or ${ENV_VARS.projectId.join(" or ")}`,
      "the project id of the region (letters, digits, - and _)",
    );
  }
  if (!PROJECT_ID_PATTERN.test(found.value)) {
    throw new ValidationError(
      "projectId",
      `${describeSource(found, "projectId")} is not a project id`,
      "1 to 64 letters, digits, - and _",
    );
  }
  return found.value;
}

/**
 * An endpoint override: an https URL, or http on a loopback address (the emulator). Plain http elsewhere
 * would carry tokens and signatures in clear text. Returned without a trailing slash.
 */
export function checkEndpoint(value: string, field: string, source = field): string {
  const where = source === field ? `the ${field} option` : `the value of ${source}`;
  const allowed = "an https:// URL, or http:// on a loopback address (127.0.0.1, localhost, [::1])";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(field, `${where} is not a URL`, allowed);
  }
  const loopback = LOOPBACK_HOSTS.test(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new ValidationError(field, `${where} has a scheme or host that is not allowed`, allowed);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ValidationError(field, `${where} must not hold user info, a query or a fragment`, allowed);
  }
  return url.origin + url.pathname.replace(/\/+$/, "");
}

function explicitCredentials(given: Credentials): Credentials {
  if (given.kind === "aksk") {
    const accessKey = present(given.accessKey);
    const secretKey = present(given.secretKey);
    if (!accessKey || !secretKey) {
      const missing = accessKey ? "credentials.secretKey" : "credentials.accessKey";
      throw new CredentialsError(`the credentials option has no ${missing.split(".")[1]}`, [missing]);
    }
    const securityToken = present(given.securityToken);
    return securityToken
      ? { kind: "aksk", accessKey, secretKey, securityToken }
      : { kind: "aksk", accessKey, secretKey };
  }
  if (given.kind === "token") {
    const authToken = present(given.authToken);
    if (!authToken)
      throw new CredentialsError("the credentials option has an empty authToken", ["credentials.authToken"]);
    return { kind: "token", authToken };
  }
  throw new ValidationError("credentials.kind", "unknown kind", '"aksk" or "token"');
}

/**
 * Credentials from the environment. AK/SK win over an IAM token when both are set; a half pair is an error
 * rather than a silent fall-back to the token.
 */
function credentialsFromEnv(env: Env): Credentials {
  const accessKey = firstFound(env, ENV_VARS.accessKey);
  const secretKey = firstFound(env, ENV_VARS.secretKey);
  const securityToken = firstFound(env, ENV_VARS.securityToken);
  if (accessKey && secretKey) {
    return securityToken
      ? {
          kind: "aksk",
          accessKey: accessKey.value,
          secretKey: secretKey.value,
          securityToken: securityToken.value,
        }
      : { kind: "aksk", accessKey: accessKey.value, secretKey: secretKey.value };
  }
  if (accessKey) {
    throw new CredentialsError(`found an access key (${accessKey.source}) but no secret key`, [
      ...ENV_VARS.secretKey,
    ]);
  }
  if (secretKey) {
    throw new CredentialsError(`found a secret key (${secretKey.source}) but no access key`, [
      ...ENV_VARS.accessKey,
    ]);
  }
  const authToken = firstFound(env, ENV_VARS.authToken);
  if (authToken) return { kind: "token", authToken: authToken.value };
  const lookedFor = [
    ...ENV_VARS.accessKey,
    ...ENV_VARS.secretKey,
    ...ENV_VARS.securityToken,
    ...ENV_VARS.authToken,
  ];
  if (securityToken) {
    throw new CredentialsError(
      `found a security token (${securityToken.source}) but not the temporary access key and secret key it goes with`,
      lookedFor,
    );
  }
  throw new CredentialsError(
    "no credentials: set an access key and secret key (optionally with a security token), or an IAM token",
    lookedFor,
  );
}

function redactedView(credentials: Credentials): Record<string, string> {
  if (credentials.kind === "token") return { kind: "token", authToken: "***" };
  const view: Record<string, string> = { kind: "aksk", accessKey: "***", secretKey: "***" };
  if (credentials.securityToken) view.securityToken = "***";
  return view;
}

/**
 * A frozen copy whose printed forms hide every value: `JSON.stringify`, `console.log` and Jest's diffs
 * (which call `toJSON`) show `***`. The fields stay readable for the signer.
 */
export function protectCredentials(credentials: Credentials): Credentials {
  const copy = { ...credentials };
  const view = () => redactedView(credentials);
  Object.defineProperty(copy, "toJSON", { value: view, enumerable: false });
  Object.defineProperty(copy, inspect.custom, { value: view, enumerable: false });
  return Object.freeze(copy);
}

/** How the client authenticates, for display. */
export function authKind(credentials: Credentials): "aksk" | "temporary-aksk" | "token" {
  if (credentials.kind === "token") return "token";
  return credentials.securityToken ? "temporary-aksk" : "aksk";
}

/** Printable ASCII without spaces: what an HTTP header (and a key) can carry as it is. */
const HEADER_SAFE = /^[\x21-\x7E]+$/;

/**
 * Refuses credentials that cannot go into a header (CR/LF, spaces, non-ASCII): as a CredentialsError naming
 * which value, never the value, before any request.
 */
function checkHeaderSafe(credentials: Credentials): Credentials {
  const values: Array<[string, string | undefined]> =
    credentials.kind === "token"
      ? [["authToken", credentials.authToken]]
      : [
          ["accessKey", credentials.accessKey],
          ["secretKey", credentials.secretKey],
          ["securityToken", credentials.securityToken],
        ];
  for (const [name, value] of values) {
    if (value !== undefined && !HEADER_SAFE.test(value)) {
      throw new CredentialsError(
        `the ${name} holds characters a request header cannot carry (line breaks, spaces, control or non-ASCII characters); check how it was set`,
        [name],
      );
    }
  }
  return credentials;
}

export function resolveConfig(options: ClientOptions = {}): ResolvedConfig {
  const env: Env = options.env ?? process.env;
  const credentials = checkHeaderSafe(
    options.credentials ? explicitCredentials(options.credentials) : credentialsFromEnv(env),
  );

  const regionFound = optionOrEnv(options.region, "region", env, ENV_VARS.region);
  const region = regionFound ? checkRegion(regionFound) : undefined;
  const projectId = checkProjectId(optionOrEnv(options.projectId, "projectId", env, ENV_VARS.projectId));

  const endpointFound = optionOrEnv(options.endpoint, "endpoint", env, ENV_VARS.endpoint);
  const geminiFound = optionOrEnv(
    options.geminidbEndpoint,
    "geminidbEndpoint",
    env,
    ENV_VARS.geminidbEndpoint,
  );
  const endpointOverride =
    endpointFound && checkEndpoint(endpointFound.value, "endpoint", endpointFound.source);
  const geminiOverride =
    geminiFound && checkEndpoint(geminiFound.value, "geminidbEndpoint", geminiFound.source);

  let endpoint: string;
  let geminidbEndpoint: string;
  if (region) {
    endpoint = endpointOverride || endpointFor("dcs", region);
    geminidbEndpoint = geminiOverride || endpointFor("geminidb", region);
  } else if (endpointOverride || geminiOverride) {
    // Without a region only an override names a server; one that serves both APIs (the emulator, a proxy)
    // is then used for both, since the DCS (/v2) and GeminiDB (/v3) paths do not overlap.
    endpoint = (endpointOverride || geminiOverride) as string;
    geminidbEndpoint = (geminiOverride || endpointOverride) as string;
  } else {
    throw new ValidationError(
      "region",
      `missing; set the region option or ${ENV_VARS.region.join(" or ")}, or give endpoint overrides (${ENV_VARS.endpoint[0]}, ${ENV_VARS.geminidbEndpoint[0]})`,
      `a Huawei Cloud region id such as ${REGION_EXAMPLES}`,
    );
  }

  return {
    ...(region ? { region } : {}),
    projectId,
    endpoint,
    geminidbEndpoint,
    credentials: protectCredentials(credentials),
  };
}
