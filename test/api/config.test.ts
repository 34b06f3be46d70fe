import { format, inspect } from "node:util";
import { authKind, ENV_VARS, resolveConfig } from "../../src/api/config";
import { endpointFor, isValidRegion } from "../../src/api/endpoints";
import { CredentialsError, ValidationError } from "../../src/api/errors";
import type { ClientOptions } from "../../src/api/types";

const SECRET = "sk-SECRET-value-0123456789";
const TOKEN = "iam-TOKEN-value-0123456789";
const BASE = {
  HW_ACCESS_KEY: "AKBASE",
  HW_SECRET_KEY: SECRET,
  HW_REGION_NAME: "cn-north-4",
  HW_PROJECT_ID: "p1",
};

function resolve(env: Record<string, string | undefined>, options: ClientOptions = {}) {
  return resolveConfig({ ...options, env });
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a throw");
}

describe("endpoints", () => {
  test("region → endpoint, with the GeminiDB eu-west-101 exception", () => {
    expect(endpointFor("dcs", "cn-north-4")).toBe("https://dcs.cn-north-4.myhuaweicloud.com");
    expect(endpointFor("geminidb", "ap-southeast-1")).toBe(
      "https://gaussdb-nosql.ap-southeast-1.myhuaweicloud.com",
    );
    expect(endpointFor("geminidb", "eu-west-101")).toBe("https://gaussdb-nosql.eu-west-101.myhuaweicloud.eu");
    expect(endpointFor("dcs", "eu-west-101")).toBe("https://dcs.eu-west-101.myhuaweicloud.com");
  });
  test.each([
    "cn-north-4",
    "ap-southeast-1",
    "eu-west-101",
    "la-north-2",
    "my-kualalumpur-1",
    "cn-southwest-2",
  ])("region %s is accepted", (region) => expect(isValidRegion(region)).toBe(true));
  test.each([
    "",
    "cn-north",
    "CN-NORTH-4",
    "cn_north_4",
    "cn-north-4.",
    "north-4",
    "cn-north-4/x",
    "cn-north-1234",
    "c-north-4",
  ])("region %p is refused", (region) => {
    expect(isValidRegion(region)).toBe(false);
    expect(() => endpointFor("dcs", region)).toThrow(RangeError);
  });
});

describe("resolveConfig: values and precedence", () => {
  test("everything from the first variables of the table", () => {
    const config = resolve(BASE);
    expect(config).toMatchObject({
      region: "cn-north-4",
      projectId: "p1",
      endpoint: "https://dcs.cn-north-4.myhuaweicloud.com",
      geminidbEndpoint: "https://gaussdb-nosql.cn-north-4.myhuaweicloud.com",
    });
    expect(config.credentials).toEqual({ kind: "aksk", accessKey: "AKBASE", secretKey: SECRET });
    expect(authKind(config.credentials)).toBe("aksk");
  });

  // For each setting: every variable is read, and the earlier one in the list wins over the later ones.
  const pick = (env: Record<string, string>) => {
    const c = resolve(env);
    const creds = c.credentials;
    return {
      accessKey: creds.kind === "aksk" ? creds.accessKey : undefined,
      secretKey: creds.kind === "aksk" ? creds.secretKey : undefined,
      securityToken: creds.kind === "aksk" ? creds.securityToken : undefined,
      region: c.region,
      projectId: c.projectId,
      endpoint: c.endpoint,
      geminidbEndpoint: c.geminidbEndpoint,
    };
  };
  const values: Record<string, (i: number) => string> = {
    accessKey: (i) => `AK${i}`,
    secretKey: (i) => `SK${i}`,
    securityToken: (i) => `ST${i}`,
    region: (i) => `cn-north-${i + 1}`,
    projectId: (i) => `project${i}`,
    endpoint: (i) => `https://dcs${i}.example.com`,
    geminidbEndpoint: (i) => `https://gemini${i}.example.com`,
  };
  for (const [setting, value] of Object.entries(values)) {
    const names = ENV_VARS[setting as keyof typeof ENV_VARS];
    test.each(names.map((name, i) => [name, i] as const))(
      `${setting}: %s is read and wins over later ones`,
      (_name, i) => {
        const env: Record<string, string> = { ...BASE };
        for (const n of names) delete env[n];
        names.slice(i).forEach((n, j) => (env[n] = value(i + j)));
        expect(pick(env)[setting as keyof ReturnType<typeof pick>]).toBe(value(i));
      },
    );
  }

  test("an explicit option wins over the environment", () => {
    const env = {
      ...BASE,
      HW_DCS_ENDPOINT: "https://env.example.com",
      HW_GEMINIDB_ENDPOINT: "https://genv.example.com",
    };
    const config = resolve(env, {
      region: "la-north-2",
      projectId: "p2",
      endpoint: "http://127.0.0.1:8080/",
      geminidbEndpoint: "https://gemini.example.com/prefix/",
      credentials: { kind: "token", authToken: TOKEN },
    });
    expect(config).toMatchObject({
      region: "la-north-2",
      projectId: "p2",
      endpoint: "http://127.0.0.1:8080",
      geminidbEndpoint: "https://gemini.example.com/prefix",
    });
    expect(config.credentials).toEqual({ kind: "token", authToken: TOKEN });
  });

  test("an endpoint override wins over the region's table entry, one service at a time", () => {
    const config = resolve({ ...BASE, HW_GEMINIDB_ENDPOINT: "https://g.example.com" });
    expect(config.endpoint).toBe("https://dcs.cn-north-4.myhuaweicloud.com");
    expect(config.geminidbEndpoint).toBe("https://g.example.com");
  });

  test("eu-west-101 resolves GeminiDB to the .eu domain", () => {
    expect(resolve({ ...BASE, HW_REGION_NAME: "eu-west-101" }).geminidbEndpoint).toBe(
      "https://gaussdb-nosql.eu-west-101.myhuaweicloud.eu",
    );
  });

  test("without a region, one override serves both APIs", () => {
    const env = { ...BASE, HW_REGION_NAME: undefined, HW_DCS_ENDPOINT: "http://127.0.0.1:9000" };
    const config = resolve(env);
    expect(config.region).toBeUndefined();
    expect(config.endpoint).toBe("http://127.0.0.1:9000");
    expect(config.geminidbEndpoint).toBe("http://127.0.0.1:9000");
  });

  test("empty and blank values count as unset; surrounding whitespace is dropped", () => {
    const config = resolve({
      ...BASE,
      HW_REGION_NAME: "",
      HUAWEICLOUD_SDK_REGION: " ap-southeast-1\n",
      HW_ACCESS_KEY: "  ",
      HUAWEICLOUD_SDK_AK: "AK2",
    });
    expect(config.region).toBe("ap-southeast-1");
    expect(config.credentials).toMatchObject({ accessKey: "AK2" });
    expect(resolve(BASE, { region: "" }).region).toBe("cn-north-4");
  });

  test("defaults to process.env", () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, BASE);
      expect(resolveConfig().projectId).toBe("p1");
    } finally {
      for (const key of Object.keys(BASE)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });
});

describe("resolveConfig: credentials", () => {
  test("temporary AK/SK carry the security token", () => {
    const config = resolve({ ...BASE, HUAWEICLOUD_SDK_SECURITY_TOKEN: TOKEN });
    expect(config.credentials).toEqual({
      kind: "aksk",
      accessKey: "AKBASE",
      secretKey: SECRET,
      securityToken: TOKEN,
    });
    expect(authKind(config.credentials)).toBe("temporary-aksk");
  });

  test("an IAM token is used when no AK/SK is set", () => {
    const env = { ...BASE, HW_ACCESS_KEY: undefined, HW_SECRET_KEY: undefined, HW_AUTH_TOKEN: TOKEN };
    expect(resolve(env).credentials).toEqual({ kind: "token", authToken: TOKEN });
  });

  test("AK/SK win over an IAM token in the environment", () => {
    expect(resolve({ ...BASE, HW_AUTH_TOKEN: TOKEN }).credentials.kind).toBe("aksk");
  });

  test("explicit credentials win over everything in the environment, and are not mixed with it", () => {
    const config = resolve(
      { ...BASE, HW_SECURITY_TOKEN: TOKEN },
      { credentials: { kind: "aksk", accessKey: "AKX", secretKey: "SKX" } },
    );
    expect(config.credentials).toEqual({ kind: "aksk", accessKey: "AKX", secretKey: "SKX" });
  });

  test.each([
    [{ HW_ACCESS_KEY: "AK" }, "no secret key", ENV_VARS.secretKey],
    [{ CLOUD_SDK_SK: SECRET }, "no access key", ENV_VARS.accessKey],
  ])("a half pair says which half is missing: %p", (creds, message, lookedFor) => {
    const env = { HW_REGION_NAME: "cn-north-4", HW_PROJECT_ID: "p1", HW_AUTH_TOKEN: TOKEN, ...creds };
    const error = thrown(() => resolve(env));
    expect(error).toBeInstanceOf(CredentialsError);
    expect(error.message).toContain(message);
    expect((error as CredentialsError).lookedFor).toEqual(lookedFor);
    expect(error.message).not.toContain(SECRET);
  });

  test("nothing at all lists every variable looked for, names only", () => {
    const error = thrown(() => resolve({ HW_REGION_NAME: "cn-north-4", HW_PROJECT_ID: "p1" }));
    expect(error).toBeInstanceOf(CredentialsError);
    for (const name of [
      ...ENV_VARS.accessKey,
      ...ENV_VARS.secretKey,
      ...ENV_VARS.securityToken,
      ...ENV_VARS.authToken,
    ]) {
      expect(error.message).toContain(name);
    }
  });

  test("a security token alone is an error that does not show it", () => {
    const error = thrown(() =>
      resolve({ HW_REGION_NAME: "cn-north-4", HW_PROJECT_ID: "p1", HW_SECURITY_TOKEN: TOKEN }),
    );
    expect(error).toBeInstanceOf(CredentialsError);
    expect(error.message).toContain("HW_SECURITY_TOKEN");
    expect(error.message).not.toContain(TOKEN);
  });

  test.each([
    [{ kind: "aksk", accessKey: "AK", secretKey: "" }, "credentials.secretKey"],
    [{ kind: "aksk", accessKey: " ", secretKey: SECRET }, "credentials.accessKey"],
    [{ kind: "token", authToken: "" }, "credentials.authToken"],
  ] as const)("explicit credentials with an empty part: %p", (credentials, field) => {
    const error = thrown(() => resolve(BASE, { credentials }));
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as CredentialsError).lookedFor).toEqual([field]);
    expect(error.message).not.toContain(SECRET);
  });
});

describe("resolveConfig: validation", () => {
  test("a missing project id names projectId and the variables", () => {
    const error = thrown(() => resolve({ ...BASE, HW_PROJECT_ID: undefined }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("projectId");
    expect(error.message).toContain("HW_PROJECT_ID");
    expect(error.message).toContain("HUAWEICLOUD_SDK_PROJECT_ID");
  });

  test("an option that is not a string is refused by name", () => {
    const error = thrown(() => resolve(BASE, { region: 4 as unknown as string }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("region");
  });

  test("a project id that is not path-safe is refused", () => {
    const error = thrown(() => resolve({ ...BASE, HW_PROJECT_ID: "p1/../x" }));
    expect((error as ValidationError).field).toBe("projectId");
  });

  test("a missing region without an override is refused, naming the variables", () => {
    const error = thrown(() => resolve({ ...BASE, HW_REGION_NAME: undefined }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("region");
    for (const name of ["HW_REGION_NAME", "HUAWEICLOUD_SDK_REGION", "HW_DCS_ENDPOINT"]) {
      expect(error.message).toContain(name);
    }
  });

  test("a malformed region is refused even with overrides, without echoing the value", () => {
    const error = thrown(() =>
      resolve({ ...BASE, HW_REGION_NAME: "north-4x", HW_DCS_ENDPOINT: "https://d.example.com" }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("region");
    expect(error.message).toContain("HW_REGION_NAME");
    expect(error.message).toContain("cn-north-4");
    expect(error.message).not.toContain("north-4x");
  });

  test.each([
    ["not a url", "endpoint"],
    ["ftp://127.0.0.1/", "endpoint"],
    ["http://dcs.example.com", "endpoint"],
    ["http://10.0.0.1:8080", "endpoint"],
    ["https://user:pw@dcs.example.com", "endpoint"],
    ["https://dcs.example.com/?q=1", "endpoint"],
  ])("endpoint %p is refused", (value, field) => {
    const error = thrown(() => resolve({ ...BASE, HW_DCS_ENDPOINT: value }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect(error.message).toContain("HW_DCS_ENDPOINT");
    expect(error.message).not.toContain("pw@");
  });

  test("geminidbEndpoint is validated under its own name", () => {
    const error = thrown(() => resolve(BASE, { geminidbEndpoint: "http://example.com" }));
    expect((error as ValidationError).field).toBe("geminidbEndpoint");
  });

  test.each(["http://127.0.0.1:1", "http://localhost:8080", "http://[::1]:8080", "https://10.1.2.3:8443"])(
    "endpoint %p is accepted",
    (value) => {
      expect(resolve({ ...BASE, HW_DCS_ENDPOINT: value }).endpoint).toBe(new URL(value).origin);
    },
  );
});

describe("resolveConfig: secrets never print", () => {
  const cases = {
    aksk: resolve({ ...BASE, HW_SECURITY_TOKEN: TOKEN }),
    token: resolve({ ...BASE, HW_ACCESS_KEY: undefined, HW_SECRET_KEY: undefined, HW_AUTH_TOKEN: TOKEN }),
  };
  test.each(Object.entries(cases))(
    "%s: JSON.stringify, util.inspect, console.log show ***",
    (_kind, config) => {
      // util.format is what console.log prints with.
      const printed = [
        JSON.stringify(config),
        JSON.stringify({ wrapped: config }),
        inspect(config, { depth: 10, showHidden: true }),
        format(config),
        format("%o %O %j", config, config, config),
      ];
      for (const text of printed) {
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(TOKEN);
        expect(text).toContain("***");
        expect(text).toContain("cn-north-4");
      }
    },
  );

  test("the values stay readable for the signer", () => {
    const creds = cases.aksk.credentials;
    expect(creds.kind === "aksk" && creds.secretKey).toBe(SECRET);
    expect(Object.isFrozen(creds)).toBe(true);
  });
});

describe("credentials a header cannot carry", () => {
  const base = { HW_REGION_NAME: "cn-north-4", HW_PROJECT_ID: "p1" };
  test.each<[string, Record<string, string>, ClientOptions["credentials"] | undefined, string]>([
    [
      "a CR/LF inside the secret key",
      { ...base, HW_ACCESS_KEY: "AK1", HW_SECRET_KEY: "SK\r\nX-Evil: 1" },
      undefined,
      "secretKey",
    ],
    [
      "a space inside the access key",
      { ...base, HW_ACCESS_KEY: "AK 1", HW_SECRET_KEY: "SK-value-77" },
      undefined,
      "accessKey",
    ],
    ["a non-ASCII token", base, { kind: "token", authToken: "tok\u00e9n-value-88" }, "authToken"],
    [
      "a newline in a security token",
      base,
      { kind: "aksk", accessKey: "AK", secretKey: "SK-value-99", securityToken: "a\nb-token" },
      "securityToken",
    ],
  ])("%s is a CredentialsError naming it, without the value", (_what, env, credentials, name) => {
    let caught: unknown;
    try {
      resolveConfig({ env, ...(credentials ? { credentials } : {}) });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CredentialsError);
    const text = `${String(caught)} ${inspect(caught)}`;
    expect(text).toContain(name);
    for (const secret of ["X-Evil", "SK-value-77", "tok\u00e9n", "a\nb-token", "AK 1"])
      expect(text).not.toContain(secret);
  });
});
