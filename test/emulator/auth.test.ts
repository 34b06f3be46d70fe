import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import {
  canonicalQuery,
  canonicalUri,
  parseAuthorization,
  parseSdkDate,
  percentEncode,
} from "../../src/emulator/auth";
import { startEmulator } from "../../src/emulator";
import type { EmulatorHandle } from "../../src/emulator/types";
import { paths, rawRequest, sdkDate, signed } from "./signed-request";

describe("signature steps", () => {
  test("percent-encodes all but A-Za-z0-9-_.~, UTF-8 bytes in upper-case hex", () => {
    expect(percentEncode("aZ09-_.~")).toBe("aZ09-_.~");
    expect(percentEncode("a b/c:é")).toBe("a%20b%2Fc%3A%C3%A9");
  });

  test("canonical URI re-encodes each decoded segment and appends a slash", () => {
    expect(canonicalUri("/v2/p/instances/i/clients")).toBe("/v2/p/instances/i/clients/");
    expect(canonicalUri("/v2/a%20b/")).toBe("/v2/a%20b/");
    expect(canonicalUri("/v2/a:b")).toBe("/v2/a%3Ab/");
  });

  test("canonical query sorts keys and repeated values and encodes both", () => {
    expect(canonicalQuery("limit=10&addr=10.0.0.1%3A5&b=2&b=1&empty")).toBe(
      "addr=10.0.0.1%3A5&b=1&b=2&empty=&limit=10",
    );
    expect(canonicalQuery("")).toBe("");
  });

  test("parses the Authorization header and the X-Sdk-Date", () => {
    expect(
      parseAuthorization("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=ab12"),
    ).toEqual({
      access: "AK",
      signedHeaders: ["host", "x-sdk-date"],
      signature: "ab12",
    });
    expect(parseAuthorization("Bearer abc")).toBeUndefined();
    expect(parseAuthorization("SDK-HMAC-SHA256 Access=AK")).toBeUndefined();
    expect(parseSdkDate("20261123T132700Z")).toBe(Date.UTC(2026, 10, 23, 13, 27, 0));
    expect(parseSdkDate("20261323T132700Z")).toBeUndefined();
    expect(parseSdkDate("2026-11-23T13:27:00Z")).toBeUndefined();
  });
});

describe("request authentication against the SDK's own signer", () => {
  const FIXED = Date.UTC(2024, 0, 15, 8, 30, 0);
  let emulator: EmulatorHandle;

  beforeAll(async () => {
    emulator = await startEmulator({
      now: () => FIXED,
      authToken: "iam-token-for-tests",
      synthetic: { nodes: 2, sessionsPerNode: 20 },
      jobMs: 0,
    });
  });
  afterAll(() => emulator.close());

  test("generates an AK/SK pair when none is given", () => {
    expect(emulator.accessKey).toMatch(/^[A-Z0-9]{20}$/);
    expect(emulator.secretKey).toMatch(/^[A-Za-z0-9]{40}$/);
  });

  test("accepts GET and POST requests signed by huaweicloud-sdk-core at a fixed date", async () => {
    const nodes = await signed(emulator, "GET", paths(emulator).nodes, { dateMs: FIXED });
    expect(nodes.status).toBe(200);
    expect(nodes.json.instance_id).toBe(emulator.instanceId);
    const scan = await signed(emulator, "POST", paths(emulator).clients, {
      dateMs: FIXED,
      body: { node_id: emulator.nodeIds[0], clean_cache: true },
    });
    expect(scan.status).toBe(200);
    expect(scan.json.job_id).toMatch(/^[0-9a-f]{32}$/);
  });

  test("accepts a signed query with characters that need encoding", async () => {
    const reply = await signed(emulator, "GET", paths(emulator).clients, {
      dateMs: FIXED,
      query: { node_id: emulator.nodeIds[1] as string, addr: "10.20.0.2:1 x", limit: 5 },
    });
    // Authenticated (not 401): the node has no scan yet, which the list answers with 500.
    expect(reply.status).toBe(500);
  });

  test("refuses a wrong secret key with 401 APIGW.0301 and counts it", async () => {
    await emulator.control.resetCounters();
    const reply = await signed(emulator, "GET", paths(emulator).nodes, {
      dateMs: FIXED,
      secretKey: "not-the-secret-key-of-this-emulator-000",
    });
    expect(reply.status).toBe(401);
    expect(reply.json.error_code).toBe("APIGW.0301");
    expect(reply.json.error_msg).toMatch(/signature does not match/);
    expect(reply.text).not.toContain(emulator.secretKey);
    expect(await emulator.control.counters()).toMatchObject({ listNodes: 1, unauthorized: 1 });
  });

  test("refuses an unknown access key, a body changed after signing, and a missing signature", async () => {
    const unknownAk = await signed(emulator, "GET", paths(emulator).nodes, {
      dateMs: FIXED,
      accessKey: "OTHERAK",
    });
    expect(unknownAk.status).toBe(401);
    expect(unknownAk.json.error_msg).toMatch(/access key/);

    const tampered = await signed(emulator, "POST", paths(emulator).killAll, {
      dateMs: FIXED,
      body: { node_id: emulator.nodeIds[0] },
      sendBody: JSON.stringify({ kill_all_nodes: true }),
    });
    expect(tampered.status).toBe(401);
    expect(tampered.json.error_code).toBe("APIGW.0301");

    const unsigned = await rawRequest(`${emulator.endpoint}${paths(emulator).nodes}`, { method: "GET" });
    expect(unsigned.status).toBe(401);
    expect(unsigned.json.error_msg).toMatch(/not signed/);
  });

  test("refuses an X-Sdk-Date more than 15 minutes away, naming the clock", async () => {
    const stale = await signed(emulator, "GET", paths(emulator).nodes, { dateMs: FIXED - 16 * 60 * 1000 });
    expect(stale.status).toBe(401);
    expect(stale.json.error_code).toBe("APIGW.0301");
    expect(stale.json.error_msg).toMatch(/960 s away from the server's clock.*check the client's clock/);
    const early = await signed(emulator, "GET", paths(emulator).nodes, { dateMs: FIXED + 16 * 60 * 1000 });
    expect(early.status).toBe(401);
    const withinSkew = await signed(emulator, "GET", paths(emulator).nodes, {
      dateMs: FIXED - 14 * 60 * 1000,
    });
    expect(withinSkew.status).toBe(200);
  });

  test("accepts the configured IAM token instead of a signature, and refuses another", async () => {
    const url = `${emulator.endpoint}${paths(emulator).nodes}`;
    const ok = await rawRequest(url, { method: "GET", headers: { "X-Auth-Token": "iam-token-for-tests" } });
    expect(ok.status).toBe(200);
    const bad = await rawRequest(url, { method: "GET", headers: { "X-Auth-Token": "iam-token-for-testz" } });
    expect(bad.status).toBe(401);
    expect(bad.json.error_code).toBe("APIGW.0301");
  });

  test("a malformed Authorization header or date is refused with a clear message", async () => {
    const url = `${emulator.endpoint}${paths(emulator).nodes}`;
    const bad = await rawRequest(url, { method: "GET", headers: { Authorization: "Basic abc" } });
    expect(bad.status).toBe(401);
    expect(bad.json.error_msg).toMatch(/malformed/);
    const badDate = await rawRequest(url, {
      method: "GET",
      headers: {
        "X-Sdk-Date": "2024-01-15",
        Authorization: `SDK-HMAC-SHA256 Access=${emulator.accessKey}, SignedHeaders=host;x-sdk-date, Signature=00`,
      },
    });
    expect(badDate.status).toBe(401);
    expect(badDate.json.error_msg).toMatch(/X-Sdk-Date is malformed/);
  });

  test("sdkDate formats like the SDK", () => {
    expect(sdkDate(FIXED)).toBe("20240115T083000Z");
  });
});

describe("an emulator without an IAM token", () => {
  test("refuses X-Auth-Token and says to sign", async () => {
    const emulator = await startEmulator({ accessKey: "FIXEDAK", secretKey: "fixed-sk" });
    try {
      expect(emulator.accessKey).toBe("FIXEDAK");
      const reply = await rawRequest(`${emulator.endpoint}${paths(emulator).nodes}`, {
        method: "GET",
        headers: { "X-Auth-Token": "anything" },
      });
      expect(reply.status).toBe(401);
      expect(reply.json.error_msg).toMatch(/sign the request/);
      const ok = await signed(emulator, "GET", paths(emulator).nodes);
      expect(ok.status).toBe(200);
    } finally {
      await emulator.close();
    }
  });
});

describe("independence from the client it tests", () => {
  /** Every relative module a file of src/emulator imports, as a path from the repository root. */
  function importsOf(dir: string): Array<{ file: string; target: string }> {
    const root = resolve(__dirname, "../..");
    return readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
      .flatMap((entry) => {
        const file = join(entry.parentPath, entry.name);
        const text = readFileSync(file, "utf8");
        return [...text.matchAll(/(?:from|import|require)\s*\(?\s*"(\.[^"]+)"/g)].map((m) => ({
          file: relative(root, file),
          target: relative(root, resolve(dirname(file), m[1]!)),
        }));
      });
  }

  test("src/emulator imports nothing of src/api but the wire schemas (its own signature check stays its own)", () => {
    const imports = importsOf(resolve(__dirname, "../../src/emulator"));
    expect(imports.length).toBeGreaterThan(10); // the scan really read the imports
    const intoApi = imports.filter((i) => i.target.startsWith("src/api"));
    expect(intoApi.length).toBeGreaterThan(0);
    expect(intoApi.filter((i) => i.target !== "src/api/schemas")).toEqual([]);
  });
});
