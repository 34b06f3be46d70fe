/** The wire schemas against every example of the reference pages, and the quirks DESIGN §1 lists. */
import { readErrorBody } from "../../src/api/http";
import {
  ClientInfoSchema,
  GeminiListSessionsResponseSchema,
  JobIdResponseSchema,
  JobResponseSchema,
  KillAllBodySchema,
  ListClientsEnvelopeSchema,
  plainEnvelope,
  ListClientsQuerySchema,
  ListClientsResponseSchema,
  ListNodesResponseSchema,
  ScanClientsBodySchema,
  parseInput,
  parseWireJson,
} from "../../src/api/schemas";
import { ValidationError } from "../../src/api/errors";
import {
  ERROR_400,
  GEMINIDB_SESSIONS_RESPONSE,
  KILL_ALL_REQUEST,
  KILL_ALL_RESPONSE,
  LIST_RESPONSE,
  SCAN_REQUEST,
  SCAN_RESPONSE,
} from "./fixtures/seeds";

describe("examples of the reference pages", () => {
  test("scan: the request body is valid and the response gives the job id", () => {
    expect(ScanClientsBodySchema.parse(parseWireJson(SCAN_REQUEST))).toEqual({
      node_id: "8f7ee181-88e2-49b7-a4bf-81f18f93a135",
      clean_cache: true,
    });
    expect(JobIdResponseSchema.parse(parseWireJson(SCAN_RESPONSE)).job_id).toBe(
      "8abf6e1e824e204401824e3e621b0042",
    );
  });

  test("the 400 error body gives error_code and error_msg", () => {
    expect(readErrorBody(ERROR_400)).toEqual({
      errorCode: "DCS.4957",
      errorMsg: "This operation is not allowed when the task is in the current state.",
    });
  });

  test("list: fd and db stay strings, counters are numbers", () => {
    const page = ListClientsResponseSchema.parse(parseWireJson(LIST_RESPONSE));
    expect(page.time).toBe("2023-06-15T03:10:01.332Z");
    expect(page.count).toBe(1);
    expect(page.clients).toHaveLength(1);
    expect(page.clients[0]).toMatchObject({
      id: "11677",
      addr: "198.19.131.14:1637",
      fd: "16",
      db: "0",
      age: 376,
      idle: 376,
      multi: 1,
      qbuf_free: 4,
      peer: "198.198.0.121:4058",
      user: "dcs",
    });
  });

  test("kill-all: the request body is valid", () => {
    expect(KillAllBodySchema.parse(parseWireJson(KILL_ALL_REQUEST))).toEqual({
      node_id: "8f7ee181-88e2-49b7-a4bf-81f18f93a135",
      kill_all_nodes: true,
    });
  });

  test("kill-all: the unquoted job_id of the page is read as a string", () => {
    expect(() => JSON.parse(KILL_ALL_RESPONSE)).toThrow(SyntaxError);
    expect(JobIdResponseSchema.parse(parseWireJson(KILL_ALL_RESPONSE)).job_id).toBe(
      "8abf6e1e824dfcb201824e02ee9a0015",
    );
  });

  test("GeminiDB: numbers where the page says String become strings, counters stay numbers", () => {
    const body = GeminiListSessionsResponseSchema.parse(parseWireJson(GEMINIDB_SESSIONS_RESPONSE));
    expect(body.node_sessions.map((n) => n.node_id)).toEqual([
      "8436a91546294036b75931e879882200in06",
      "8123sa46294daw13def423fw79882200in06",
    ]);
    expect(body.node_sessions[0]!.total_count).toBe(1);
    expect(body.node_sessions[0]!.sessions[0]).toEqual({
      addr: "127.0.0.1:8080",
      id: "54487",
      name: "cli",
      cmd: "get",
      age: 8888581,
      idle: 8888581,
      db: "0",
      fd: "1311",
      sub: 0,
      psub: 0,
      multi: -1,
    });
    expect(body.node_sessions[1]!.sessions[0]).toMatchObject({ id: "54488", idle: 4414141, fd: "1312" });
  });

  test("GeminiDB: the documented String types are accepted as well", () => {
    const body = GeminiListSessionsResponseSchema.parse({
      node_sessions: [
        {
          node_id: "n1",
          total_count: "1",
          sessions: [{ id: "7", age: "12", idle: "3", db: "2", fd: "9", sub: "0", psub: "1", multi: "-1" }],
        },
      ],
    });
    expect(body.node_sessions[0]).toMatchObject({ total_count: 1 });
    expect(body.node_sessions[0]!.sessions[0]).toMatchObject({
      id: "7",
      age: 12,
      idle: 3,
      db: "2",
      psub: 1,
      multi: -1,
    });
  });
});

describe("liberal parsing of responses", () => {
  test("numeric strings become numbers, numbers become strings", () => {
    const c = ClientInfoSchema.parse({ id: 5, age: "376", idle: " 42 ", db: 3, fd: 16, omem: "0" });
    expect(c).toMatchObject({ id: "5", age: 376, idle: 42, db: "3", fd: "16", omem: 0 });
    expect(ListClientsResponseSchema.parse({ time: "t", clients: [], count: "5500" }).count).toBe(5500);
  });

  test("the envelope taken without zod is the one the schema returns, and every other shape is left to the schema", () => {
    const clients = [{ addr: "10.0.0.1:5000" }];
    const taken = [
      { time: "1700000000000", count: 10000, clients },
      { time: "t", count: 2, clients: [], extra: { nested: true } },
      { count: 0, clients: [] },
      { time: "t", clients },
      { clients: [] },
      { time: "", count: -1.5, clients },
    ];
    for (const body of taken) {
      expect(plainEnvelope(body)).toBe(body);
      expect(ListClientsEnvelopeSchema.parse(body)).toEqual(body);
    }
    const left = [
      { time: 1700000000000, count: 1, clients },
      { time: "t", count: "2", clients },
      { time: "t", count: " 2 ", clients },
      { time: "t", count: "", clients },
      { time: null, count: null, clients },
      { time: "t", count: Number.NaN, clients },
      { time: "t", count: Number.POSITIVE_INFINITY, clients },
      { time: "t", count: 1, clients: null },
      { time: "t", count: 1, clients: {} },
      { time: "t", count: 1 },
      { time: true, count: 1, clients },
      null,
      "[]",
      [],
    ];
    for (const body of left) expect(plainEnvelope(body)).toBeUndefined();
    // What the schema makes of those it accepts among them (coerced), and that it refuses the rest.
    expect(ListClientsEnvelopeSchema.parse(left[1])).toEqual({ time: "t", count: 2, clients });
    expect(ListClientsEnvelopeSchema.parse(left[4])).toEqual({ time: undefined, count: undefined, clients });
    expect(ListClientsEnvelopeSchema.safeParse(left[5]).success).toBe(false);
    expect(ListClientsEnvelopeSchema.safeParse(left[8]).success).toBe(false);
  });

  test("a list page's envelope keeps its clients as sent, null as none, and refuses clients that are no array", () => {
    const clients = [{ addr: "10.0.0.1:5000", idle: "7" }, 42];
    expect(ListClientsEnvelopeSchema.parse({ time: "t", clients, count: "2" })).toEqual({
      time: "t",
      clients,
      count: 2,
    });
    expect(ListClientsEnvelopeSchema.parse({ clients: null }).clients).toEqual([]);
    for (const [clients, received] of [
      [{}, "object"],
      ["[]", "string"],
      [undefined, "undefined"],
    ] as const) {
      const result = ListClientsEnvelopeSchema.safeParse({ time: "t", clients });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(["clients"]);
      expect(result.error?.issues[0]?.message).toBe(`Invalid input: expected array, received ${received}`);
    }
  });

  test("empty strings and nulls are absent, not zero", () => {
    const c = ClientInfoSchema.parse({ age: "", idle: null, name: null });
    expect(c.age).toBeUndefined();
    expect(c.idle).toBeUndefined();
    expect(c.name).toBeUndefined();
  });

  test("unknown fields do not fail and are kept", () => {
    const page = ListClientsResponseSchema.parse({
      time: "t",
      count: 1,
      extra: { nested: true },
      clients: [{ id: "1", brand_new_field: "x", tot_mem: 1024 }],
    });
    expect(page.clients[0]).toMatchObject({ id: "1", brand_new_field: "x", tot_mem: 1024 });
    expect(ListNodesResponseSchema.parse({ nodes: [{ node_id: "n", future: 1 }] }).nodes[0]).toMatchObject({
      node_id: "n",
      future: 1,
    });
  });

  test("an empty clients array past the last page parses, with count still above it", () => {
    const page = ListClientsResponseSchema.parse({ time: "t", clients: [], count: 5500 });
    expect(page).toMatchObject({ clients: [], count: 5500 });
    expect(ListClientsResponseSchema.parse({ time: "t", clients: null, count: 3 }).clients).toEqual([]);
  });

  test("job_id is always a string: quoted, a number, or a long unquoted number that would lose digits", () => {
    expect(JobIdResponseSchema.parse({ job_id: 42 }).job_id).toBe("42");
    const long = `{"job_id": 123456789012345678901234567890, "other": 1}`;
    expect(JobIdResponseSchema.parse(parseWireJson(long)).job_id).toBe("123456789012345678901234567890");
    expect(() => JobIdResponseSchema.parse({})).toThrow();
  });

  test("job status is read case-insensitively; an undocumented one is kept as sent, an absent one is not", () => {
    expect(JobResponseSchema.parse({ job_id: "j", status: "success" }).status).toBe("SUCCESS");
    // A waiter treats an undocumented status as still running (DESIGN §1), so it must reach the waiter.
    expect(JobResponseSchema.parse({ job_id: "j", status: " queued " }).status).toBe("QUEUED");
    expect(JobResponseSchema.safeParse({ job_id: "j" }).success).toBe(false);
    expect(JobResponseSchema.safeParse({ job_id: "j", status: "" }).success).toBe(false);
  });

  test("GeminiDB's error body {errCode, externalMessage} reads as DCS's {error_code, error_msg}", () => {
    expect(readErrorBody(`{"errCode":"DBS.200001","externalMessage":"Parameter error"}`)).toEqual({
      errorCode: "DBS.200001",
      errorMsg: "Parameter error",
    });
    // Both present: the DCS names win; neither present: nothing is invented.
    expect(
      readErrorBody(
        `{"error_code":"DCS.4957","error_msg":"busy","errCode":"DBS.200002","externalMessage":"x"}`,
      ),
    ).toEqual({ errorCode: "DCS.4957", errorMsg: "busy" });
    expect(readErrorBody(`{"code":"X"}`)).toEqual({});
  });

  test("error bodies: nested gateway form, non-JSON text, and bodies with no error fields", () => {
    expect(readErrorBody(`{"error":{"code":"APIGW.0301","message":"Incorrect IAM authentication"}}`)).toEqual(
      {
        errorCode: "APIGW.0301",
        errorMsg: "Incorrect IAM authentication",
      },
    );
    expect(readErrorBody("<html>\n<body>502 Bad Gateway</body></html>")).toEqual({
      errorMsg: "<html> <body>502 Bad Gateway</body></html>",
    });
    expect(readErrorBody("")).toEqual({ errorMsg: undefined });
    expect(readErrorBody(`{"error_code":"X.1","error_msg":"m","error_ext_msg":"more"}`)).toEqual({
      errorCode: "X.1",
      errorMsg: "m: more",
    });
  });
});

describe("strict validation of what users send", () => {
  const valid = { node_id: "n1" };
  test.each([
    [{ ...valid, limit: 0 }, "limit", ">= 1"],
    [{ ...valid, limit: 1001 }, "limit", "<= 1000"],
    [{ ...valid, limit: 2.5 }, "limit", undefined],
    [{ ...valid, offset: -1 }, "offset", ">= 0"],
    [{ ...valid, order: "up" }, "order", "one of: asc, desc"],
    [{ ...valid, sort: "memory" }, "sort", "qbuf_free"],
    [{ node_id: "" }, "node_id", undefined],
    [{ node_id: "../etc" }, "node_id", undefined],
    [{ ...valid, page: 1 }, "page", "is not a known field"],
  ])("%j is refused naming %s", (input, field, allowed) => {
    let caught: unknown;
    try {
      parseInput(ListClientsQuerySchema, input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const error = caught as ValidationError;
    expect(error.field).toBe(field);
    if (allowed) expect(error.message).toContain(allowed);
  });

  test("the limits themselves are accepted", () => {
    expect(() => parseInput(ListClientsQuerySchema, { ...valid, limit: 1, offset: 0 })).not.toThrow();
    expect(() =>
      parseInput(ListClientsQuerySchema, { ...valid, limit: 1000, sort: "idle", order: "desc" }),
    ).not.toThrow();
  });

  test("kill-all needs node_id unless kill_all_nodes is true", () => {
    expect(() => parseInput(KillAllBodySchema, {})).toThrow(/node_id/);
    expect(parseInput(KillAllBodySchema, { kill_all_nodes: true })).toEqual({ kill_all_nodes: true });
  });
});
