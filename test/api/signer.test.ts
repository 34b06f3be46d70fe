import { createHash, createHmac } from "node:crypto";
import {
  authorizationHeader,
  canonicalHeaders,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  formatSdkDate,
  headersToSign,
  payloadHash,
  percentEncode,
  signature,
  signRequest,
  signRequestWithDetails,
  stringToSign,
} from "../../src/api/signer";

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

describe("formatSdkDate", () => {
  test("is UTC YYYYMMDDTHHMMSSZ, fraction dropped", () => {
    expect(formatSdkDate(new Date("2026-11-23T13:26:53.789Z"))).toBe("20261123T132653Z");
    expect(formatSdkDate(new Date("2027-01-02T03:04:05+02:00"))).toBe("20270102T010405Z");
  });
  test("an invalid date is refused", () => {
    expect(() => formatSdkDate(new Date("nope"))).toThrow(RangeError);
  });
});

describe("percentEncode", () => {
  test("leaves only A-Za-z0-9-_.~ alone", () => {
    expect(percentEncode("AZaz09-_.~")).toBe("AZaz09-_.~");
    expect(percentEncode("a b*c!d'e(f)g")).toBe("a%20b%2Ac%21d%27e%28f%29g");
    expect(percentEncode("/%+&=?#:@")).toBe("%2F%25%2B%26%3D%3F%23%3A%40");
  });
  test("encodes UTF-8 bytes in upper-case hex", () => {
    expect(percentEncode("é中😀")).toBe("%C3%A9%E4%B8%AD%F0%9F%98%80");
  });
});

describe("canonicalUri", () => {
  test("appends a / when missing, keeps one that is there", () => {
    expect(canonicalUri("/v2/p1/instances/i1/clients")).toBe("/v2/p1/instances/i1/clients/");
    expect(canonicalUri("/v2/p1/instances/i1/clients/")).toBe("/v2/p1/instances/i1/clients/");
    expect(canonicalUri("/")).toBe("/");
    expect(canonicalUri("")).toBe("/");
  });
  test("decodes each segment, then encodes it: the result does not depend on the escaping sent", () => {
    expect(canonicalUri("/v2/a%20b")).toBe("/v2/a%20b/");
    expect(canonicalUri("/v2/a*b")).toBe("/v2/a%2Ab/");
    expect(canonicalUri("/v2/a%2ab")).toBe("/v2/a%2Ab/");
    expect(canonicalUri("/v2/%C3%A9")).toBe("/v2/%C3%A9/");
    expect(canonicalUri("/v2/%41")).toBe("/v2/A/");
  });
  test("an escaped / stays inside its segment", () => {
    expect(canonicalUri("/v2/a%2Fb")).toBe("/v2/a%2Fb/");
  });
  test("a % that starts no valid escape is a literal percent sign", () => {
    expect(canonicalUri("/v2/100%zz")).toBe("/v2/100%25zz/");
  });
});

describe("canonicalQuery", () => {
  test("is empty without a query", () => {
    expect(canonicalQuery("")).toBe("");
    expect(canonicalQuery("?")).toBe("");
  });
  test("sorts keys and the values of a repeated key", () => {
    expect(canonicalQuery("limit=10&offset=0&addr=b&addr=a&node_id=n1")).toBe(
      "addr=a&addr=b&limit=10&node_id=n1&offset=0",
    );
  });
  test("sorts on the decoded text, not on its encoding", () => {
    // "1" < ":" decoded; encoded, "%3A" would sort first.
    expect(canonicalQuery("a%3A=x&a1=y")).toBe("a1=y&a%3A=x");
  });
  test("decodes as a server does (+ is a space) and re-encodes strictly", () => {
    expect(canonicalQuery("q=a+b")).toBe("q=a%20b");
    expect(canonicalQuery("q=a%2Bb")).toBe("q=a%2Bb");
    expect(canonicalQuery("q=a*b~c/d%25")).toBe("q=a%2Ab~c%2Fd%25");
    expect(canonicalQuery("q=%C3%A9")).toBe("q=%C3%A9");
  });
  test("a key without a value signs as key=", () => {
    expect(canonicalQuery("flag&b=")).toBe("b=&flag=");
  });
  test("accepts URLSearchParams", () => {
    expect(canonicalQuery(new URL("https://h/p?z=1&a=2").searchParams)).toBe("a=2&z=1");
  });
});

describe("canonicalHeaders", () => {
  test("lower-cases names, trims values, sorts by name", () => {
    expect(
      canonicalHeaders({ "X-Sdk-Date": " 20261123T132653Z ", Host: "dcs.example", "x-project-id": "p1" }),
    ).toEqual({
      canonicalHeaders: "host:dcs.example\nx-project-id:p1\nx-sdk-date:20261123T132653Z\n",
      signedHeaders: "host;x-project-id;x-sdk-date",
    });
  });
});

describe("headersToSign", () => {
  const url = new URL("http://127.0.0.1:18080/v2/p1/jobs/j1");
  test("keeps only the signable headers, lower-cased, host from the URL when absent", () => {
    expect(
      headersToSign({ "X-Project-Id": "p1", "User-Agent": "ua", Accept: "application/json" }, url, "D"),
    ).toEqual({ host: "127.0.0.1:18080", "x-project-id": "p1", "x-sdk-date": "D" });
  });
  test("signs content-type when the request has one, and an explicit host as given", () => {
    expect(headersToSign({ "content-type": "application/json", host: "h:1" }, url, "D")).toEqual({
      "content-type": "application/json",
      host: "h:1",
      "x-sdk-date": "D",
    });
  });
  test("the date comes from the clock and the token from the credentials", () => {
    const headers = { "x-sdk-date": "old", "x-security-token": "stale" };
    expect(headersToSign(headers, url, "D", "fresh")).toMatchObject({
      "x-sdk-date": "D",
      "x-security-token": "fresh",
    });
    expect(headersToSign(headers, url, "D")).not.toHaveProperty("x-security-token");
  });
});

describe("payloadHash", () => {
  test("hex sha256 of the body bytes", () => {
    expect(payloadHash("")).toBe(EMPTY_SHA256);
    expect(payloadHash(new Uint8Array())).toBe(EMPTY_SHA256);
    const body = '{"node_id":"é"}';
    expect(payloadHash(body)).toBe(createHash("sha256").update(Buffer.from(body, "utf8")).digest("hex"));
    expect(payloadHash(new TextEncoder().encode(body))).toBe(payloadHash(body));
  });
});

describe("canonicalRequest, stringToSign, signature, authorizationHeader", () => {
  test("canonical request: six parts on their own lines, a blank line after the headers", () => {
    expect(
      canonicalRequest({
        method: "GET",
        canonicalUri: "/v2/",
        canonicalQuery: "a=1",
        canonicalHeaders: "host:h\n",
        signedHeaders: "host",
        payloadHash: EMPTY_SHA256,
      }),
    ).toBe(`GET\n/v2/\na=1\nhost:h\n\nhost\n${EMPTY_SHA256}`);
  });
  test("string to sign: algorithm, date, hash of the canonical request", () => {
    expect(stringToSign("20261123T132653Z", "abc")).toBe(
      "SDK-HMAC-SHA256\n20261123T132653Z\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
  test("signature: hex HMAC-SHA256 (RFC 4231 test case 2)", () => {
    expect(signature("Jefe", "what do ya want for nothing?")).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });
  test("Authorization header format", () => {
    expect(authorizationHeader("AK1", "host;x-sdk-date", "abc")).toBe(
      "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature=abc",
    );
  });
});

describe("signRequest", () => {
  const now = new Date("2026-11-23T13:26:53Z");
  const credentials = { accessKey: "AKTESTTESTTESTTEST01", secretKey: "sk-test-0123456789abcdef" };
  const request = {
    method: "POST",
    url: "https://dcs.cn-north-4.myhuaweicloud.com/v2/p1/instances/i1/clients?x=a%20b",
    headers: { "X-Project-Id": "p1", "Content-Type": "application/json", "User-Agent": "ua" },
    body: '{"node_id":"n1"}',
  };

  test("reproduces the chain written out by hand from DESIGN §1", () => {
    const canonical = [
      "POST",
      "/v2/p1/instances/i1/clients/",
      "x=a%20b",
      "content-type:application/json\nhost:dcs.cn-north-4.myhuaweicloud.com\nx-project-id:p1\nx-sdk-date:20261123T132653Z\n",
      "content-type;host;x-project-id;x-sdk-date",
      createHash("sha256").update('{"node_id":"n1"}').digest("hex"),
    ].join("\n");
    const toSign = `SDK-HMAC-SHA256\n20261123T132653Z\n${createHash("sha256").update(canonical).digest("hex")}`;
    const expected = createHmac("sha256", credentials.secretKey).update(toSign).digest("hex");

    const details = signRequestWithDetails(request, credentials, now);
    expect(details.canonicalRequest).toBe(canonical);
    expect(details.stringToSign).toBe(toSign);
    expect(signRequest(request, credentials, now)).toEqual({
      "X-Sdk-Date": "20261123T132653Z",
      Authorization: `SDK-HMAC-SHA256 Access=${credentials.accessKey}, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=${expected}`,
    });
  });

  test("temporary credentials add and sign X-Security-Token", () => {
    const headers = signRequest(request, { ...credentials, securityToken: "tok-123" }, now);
    expect(headers["X-Security-Token"]).toBe("tok-123");
    expect(headers.Authorization).toContain(
      "SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token,",
    );
  });

  test("the signature depends on the clock, the body, the path and the secret; not on the query order", () => {
    const base = signRequest(request, credentials, now).Authorization;
    const sig = (r: typeof request, c = credentials, t = now) => signRequest(r, c, t).Authorization;
    expect(sig(request, credentials, new Date(now.getTime() + 1000))).not.toBe(base);
    expect(sig({ ...request, body: '{"node_id":"n2"}' })).not.toBe(base);
    expect(sig({ ...request, url: request.url.replace("i1", "i2") })).not.toBe(base);
    expect(sig(request, { ...credentials, secretKey: "other" })).not.toBe(base);
    const twoParams = { ...request, url: `${request.url}&b=1` };
    expect(sig({ ...request, url: request.url.replace("?x=a%20b", "?b=1&x=a+b") })).toBe(sig(twoParams));
  });

  test("a trailing slash is only added for signing: the request is not changed", () => {
    const copy = structuredClone(request);
    signRequest(request, credentials, now);
    expect(request).toEqual(copy);
  });
});
