/**
 * What the constructs synthesize, with cdktf and with CDK Terrain (cdktn): the provider's own data source
 * and resource with typed attributes, the provider requirement, how props are validated, and that no
 * secret, no absolute path and nothing of the old `data "external"` / `local-exec` reaches the JSON.
 */
import { homedir } from "node:os";
import * as cdktf from "cdktf";
import * as cdktn from "cdktn";
import { ENV_VARS } from "../../src/api/config";
import { ValidationError } from "../../src/api/errors";
import { SecretWitness } from "../safety/secret-witness";
import { DcsSessionsProvider, PROVIDER_VERSION, SessionPurge, SessionScan } from "../../src/cdktf";
import type { SessionPurgeProps, SessionScanProps } from "../../src/cdktf";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed Terraform JSON, read by path
type Json = Record<string, any>;
type Library = typeof cdktf;

const LIBRARIES: Array<[string, Library]> = [
  ["cdktf", cdktf],
  ["cdktn", cdktn as unknown as Library],
];

function synth(lib: Library, fn: (stack: cdktf.TerraformStack) => void): { text: string; json: Json } {
  const stack = new lib.TerraformStack(lib.Testing.app(), "test");
  fn(stack);
  const text = lib.Testing.synth(stack, true);
  return { text, json: JSON.parse(text) as Json };
}

function only(map: Json | undefined): [string, Json] {
  const entries = Object.entries(map ?? {});
  expect(entries).toHaveLength(1);
  return entries[0] as [string, Json];
}

describe.each(LIBRARIES)("with %s", (_name, lib) => {
  test("SessionScan: a dcssessions_scan data source with typed attributes, and the provider it needs", () => {
    const { json } = synth(lib, (stack) => {
      const scan = new SessionScan(stack, "before", {
        instanceId: "inst-1",
        nodeIds: ["n1", "n2"],
        topN: 5,
        cleanCache: false,
        addr: "10.0.0.1",
        waitTimeoutSeconds: 60,
      });
      new lib.TerraformOutput(stack, "total", { value: scan.totalSessions });
      new lib.TerraformOutput(stack, "stale", { value: scan.idleBuckets[">=24h"] });
      new lib.TerraformOutput(stack, "ips", { value: scan.byClientIp });
      new lib.TerraformOutput(stack, "nodes", { value: scan.nodes });
      new lib.TerraformOutput(stack, "first_node", { value: scan.nodeAt(0).sessions });
    });
    expect(json.terraform.required_providers).toEqual({
      dcssessions: { source: "dcs-sessions/dcssessions", version: PROVIDER_VERSION },
    });
    // The constructs add an empty block: everything from the environment.
    expect(json.provider).toEqual({ dcssessions: [{}] });
    const [name, data] = only(json.data.dcssessions_scan);
    expect(data).toEqual({
      instance_id: "inst-1",
      node_ids: ["n1", "n2"],
      top_n: 5,
      clean_cache: false,
      addr: "10.0.0.1",
      wait_timeout_seconds: 60,
    });
    const ref = `data.dcssessions_scan.${name}`;
    expect(json.output.total.value).toBe(`\${${ref}.total_sessions}`);
    expect(json.output.stale.value).toBe(`\${${ref}.idle_buckets[">=24h"]}`);
    expect(json.output.ips.value).toBe(`\${${ref}.by_client_ip}`);
    expect(json.output.nodes.value).toBe(`\${${ref}.nodes}`);
    expect(json.output.first_node.value).toBe(`\${${ref}.nodes[0].sessions}`);
    expect(JSON.stringify(json)).not.toMatch(/external|local-exec|terraform_data/);
  });

  test("SessionPurge: a dcssessions_purge resource with its blocks, triggers kept as written, and its outputs", () => {
    const { json } = synth(lib, (stack) => {
      const scan = new SessionScan(stack, "before", { instanceId: "inst-1" });
      const purge = new SessionPurge(stack, "purge", {
        instanceId: "inst-1",
        engine: "geminidb",
        allNodes: true,
        dryRun: false,
        maxSessions: 5000,
        minSessions: 1,
        maintenanceWindow: { days: ["sat", "sun"], start: "02:00", end: "04:00", timeZone: "Europe/Paris" },
        outsideWindow: "skip",
        verify: true,
        waitTimeoutSeconds: 120,
        match: { idleOverSeconds: 3600, clients: ["10.0.0.0/8"], dbs: [0, 2], cmds: ["get"] },
        triggers: { releaseId: "42", "deploy-key": "a b" },
        dependsOn: [scan],
      });
      new lib.TerraformOutput(stack, "after", { value: purge.sessionsAfter });
      new lib.TerraformOutput(stack, "status", { value: purge.status });
      new lib.TerraformOutput(stack, "jobs", { value: purge.jobIds });
      new lib.TerraformOutput(stack, "node_before", { value: purge.nodeAt(1).before });
      new lib.TerraformOutput(stack, "matched", { value: purge.matchedSessions });
      new lib.TerraformOutput(stack, "node_matched", { value: purge.nodeAt(0).matched });
      new lib.TerraformOutput(stack, "selected", { value: purge.selectedSessions });
    });
    const [scanName] = only(json.data.dcssessions_scan);
    const [name, resource] = only(json.resource.dcssessions_purge);
    expect(resource).toEqual({
      instance_id: "inst-1",
      engine: "geminidb",
      all_nodes: true,
      dry_run: false,
      max_sessions: 5000,
      min_sessions: 1,
      outside_window: "skip",
      verify: true,
      wait_timeout_seconds: 120,
      maintenance_window: { days: ["sat", "sun"], start: "02:00", end: "04:00", time_zone: "Europe/Paris" },
      match: { idle_over_seconds: 3600, clients: ["10.0.0.0/8"], dbs: [0, 2], cmds: ["get"] },
      triggers: { releaseId: "42", "deploy-key": "a b" },
      depends_on: [`data.dcssessions_scan.${scanName}`],
    });
    const ref = `dcssessions_purge.${name}`;
    expect(json.output.after.value).toBe(`\${${ref}.sessions_after}`);
    expect(json.output.status.value).toBe(`\${${ref}.status}`);
    expect(json.output.jobs.value).toBe(`\${${ref}.job_ids}`);
    expect(json.output.node_before.value).toBe(`\${${ref}.nodes[1].before}`);
    expect(json.output.matched.value).toBe(`\${${ref}.matched_sessions}`);
    expect(json.output.node_matched.value).toBe(`\${${ref}.nodes[0].matched}`);
    expect(json.output.selected.value).toBe(`\${${ref}.selected_sessions}`);
    expect(json.provider.dcssessions).toHaveLength(1);
  });

  test("alwaysRun adds a timestamp() trigger; node ids without allNodes", () => {
    const { json } = synth(lib, (stack) => {
      new SessionPurge(stack, "p", {
        instanceId: "i",
        nodeIds: ["n1"],
        alwaysRun: true,
        triggers: { r: "1" },
      });
    });
    const [, resource] = only(json.resource.dcssessions_purge);
    expect(resource).toEqual({
      instance_id: "i",
      node_ids: ["n1"],
      triggers: { r: "1", always_run: "${timestamp()}" },
    });
  });

  test("DcsSessionsProvider: the connection in the provider block; one unaliased block, a default that gives way", () => {
    const { json } = synth(lib, (stack) => {
      // The scan comes first and adds the default block; the user's own replaces it.
      new SessionScan(stack, "a", { instanceId: "i1" });
      new DcsSessionsProvider(stack, "main", {
        region: "eu-west-101",
        projectId: "p1",
        endpoint: "https://dcs.example.com",
        geminidbEndpoint: "https://gaussdb.example.com",
      });
      const other = new DcsSessionsProvider(stack, "other", { region: "ap-southeast-1", alias: "asia" });
      new SessionScan(stack, "b", { instanceId: "i2", provider: other });
    });
    expect(json.provider.dcssessions).toEqual([
      {
        region: "eu-west-101",
        project_id: "p1",
        endpoint: "https://dcs.example.com",
        geminidb_endpoint: "https://gaussdb.example.com",
      },
      { region: "ap-southeast-1", alias: "asia" },
    ]);
    const scans = Object.values(json.data.dcssessions_scan as Record<string, Json>);
    expect(scans.map((s) => s.provider)).toEqual([undefined, "dcssessions.asia"]);
  });

  test("token props are left to Terraform (and to the provider's validation at plan time)", () => {
    const { json } = synth(lib, (stack) => {
      const id = new lib.TerraformVariable(stack, "instance_id", { type: "string" });
      const nodes = new lib.TerraformVariable(stack, "node_ids", { type: "list(string)" });
      const top = new lib.TerraformVariable(stack, "top", { type: "number" });
      const release = new lib.TerraformVariable(stack, "release", { type: "string" });
      new SessionScan(stack, "s", {
        instanceId: id.stringValue,
        nodeIds: nodes.listValue,
        topN: top.numberValue,
      });
      new SessionPurge(stack, "p", {
        instanceId: id.stringValue,
        nodeIds: nodes.listValue,
        maxSessions: top.numberValue,
        triggers: { release: release.stringValue },
      });
    });
    expect(only(json.data.dcssessions_scan)[1]).toEqual({
      instance_id: "${var.instance_id}",
      node_ids: "${var.node_ids}",
      top_n: "${var.top}",
    });
    expect(only(json.resource.dcssessions_purge)[1]).toMatchObject({
      instance_id: "${var.instance_id}",
      max_sessions: "${var.top}",
      triggers: { release: "${var.release}" },
    });
  });

  test("the elements are the library's own classes (the App's token registry resolves them)", () => {
    const stack = new lib.TerraformStack(lib.Testing.app(), "s");
    const scan = new SessionScan(stack, "s", { instanceId: "i" });
    const purge = new SessionPurge(stack, "p", { instanceId: "i", allNodes: true });
    expect(scan.dataSource).toBeInstanceOf(lib.TerraformDataSource);
    expect(purge.resource).toBeInstanceOf(lib.TerraformResource);
    const other = (lib === cdktf ? cdktn : cdktf) as unknown as Library;
    expect(scan.dataSource).not.toBeInstanceOf(other.TerraformDataSource);
  });

  test("HCL output (hclOutput: true) keeps every attribute and block", () => {
    const stack = new lib.TerraformStack(lib.Testing.app(), "hcl");
    new DcsSessionsProvider(stack, "p", { region: "eu-west-101" });
    new SessionScan(stack, "s", { instanceId: "inst-1", nodeIds: ["n1"], topN: 3, cleanCache: true });
    new SessionPurge(stack, "x", {
      instanceId: "inst-1",
      allNodes: true,
      maintenanceWindow: { start: "02:00", end: "04:00" },
      match: { users: ["app"], dbs: [1] },
      triggers: { releaseId: "7" },
    });
    const hcl = String(lib.Testing.synthHcl(stack, true));
    expect(hcl).toMatch(/provider "dcssessions" \{\s+region = "eu-west-101"/);
    expect(hcl).toMatch(/data "dcssessions_scan" "\w+" \{/);
    expect(hcl).toContain('instance_id = "inst-1"');
    expect(hcl).toContain("top_n = 3");
    expect(hcl).toContain("clean_cache = true");
    expect(hcl).toMatch(/node_ids = \[\s*"n1"\s*\]/);
    expect(hcl).toMatch(/resource "dcssessions_purge" "\w+" \{/);
    expect(hcl).toMatch(/maintenance_window \{\s+start = "02:00"\s+end = "04:00"\s+\}/);
    expect(hcl).toMatch(/match \{\s+users = \[\s*"app"\s*\]\s+dbs = \[\s*1\s*\]\s+\}/);
    expect(hcl).toMatch(/triggers = \{\s+releaseId = "7"\s+\}/);
  });
});

describe("what the synthesized JSON never holds", () => {
  test.each(LIBRARIES)(
    "%s: no credential from any of the environment variables read, nor from a prop (refused, even as a variable)",
    (_name, lib) => {
      const witness = new SecretWitness();
      const credentialVars = [
        ...ENV_VARS.accessKey,
        ...ENV_VARS.secretKey,
        ...ENV_VARS.securityToken,
        ...ENV_VARS.authToken,
      ];
      const saved = new Map(credentialVars.map((name) => [name, process.env[name]]));
      for (const name of credentialVars) {
        const value = `Synth-${name}-Value-7c1e`;
        process.env[name] = value;
        witness.add(name, value);
      }
      try {
        const { text } = synth(lib, (stack) => {
          new DcsSessionsProvider(stack, "p", { region: "eu-west-101" });
          new SessionScan(stack, "s", { instanceId: "i" });
          new SessionPurge(stack, "x", { instanceId: "i", allNodes: true, dryRun: true });
        });
        expect(text).toContain("dcssessions_purge");
        witness.expectNoneIn("the synthesized JSON", text);
        // A credential as a prop is refused before anything is synthesized, even a sensitive variable's.
        const stack = new lib.TerraformStack(lib.Testing.app(), "props");
        const variable = new lib.TerraformVariable(stack, "sk", { type: "string", sensitive: true });
        for (const key of ["accessKey", "secretKey", "securityToken", "authToken"]) {
          for (const [i, value] of [process.env.HW_SECRET_KEY!, variable.stringValue].entries()) {
            let error: unknown;
            try {
              new DcsSessionsProvider(stack, `p-${key}-${i}`, { [key]: value } as never);
            } catch (thrown) {
              error = thrown;
            }
            expect(error).toBeInstanceOf(ValidationError);
            expect((error as ValidationError).field).toBe(key);
            const { message, stack: trace } = error as ValidationError;
            witness.expectNoneIn(`the error for ${key}`, `${message} ${trace} ${JSON.stringify(error)}`);
          }
        }
      } finally {
        for (const [name, value] of saved) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    },
  );

  test("no secret from the environment and no machine-specific absolute path", () => {
    const secret = "SuperSecretKeyValue123";
    const saved = { sk: process.env.HW_SECRET_KEY, ak: process.env.HW_ACCESS_KEY };
    process.env.HW_SECRET_KEY = secret;
    process.env.HW_ACCESS_KEY = "AKIDEXAMPLE0001";
    try {
      const { text } = synth(cdktf, (stack) => {
        new DcsSessionsProvider(stack, "p", { region: "eu-west-101" });
        new SessionScan(stack, "s", { instanceId: "i" });
        new SessionPurge(stack, "x", { instanceId: "i", allNodes: true });
      });
      expect(text).not.toContain(secret);
      expect(text).not.toContain("AKIDEXAMPLE0001");
      expect(text).not.toContain(process.cwd());
      expect(text).not.toContain(homedir());
      expect(text).not.toContain(process.execPath);
      expect(text).not.toMatch(/"\/(usr|home|tmp|work|opt|root)\//);
    } finally {
      for (const [name, value] of [
        ["HW_SECRET_KEY", saved.sk],
        ["HW_ACCESS_KEY", saved.ak],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe("validation in the constructor names the prop", () => {
  function errorOf(fn: () => void): ValidationError | undefined {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      return error as ValidationError;
    }
    return undefined;
  }
  const stack = (): cdktf.TerraformStack => new cdktf.TerraformStack(cdktf.Testing.app(), "s");

  const scanCases: Array<[Partial<SessionScanProps> & Record<string, unknown>, string]> = [
    [{ instanceId: "" }, "instanceId"],
    [{ engine: "mysql" as never }, "engine"],
    [{ nodeIds: [] }, "nodeIds"],
    [{ nodeIds: ["ok", "not ok"] }, "nodeIds[1]"],
    [{ topN: 101 }, "topN"],
    [{ topN: 1.5 }, "topN"],
    [{ cleanCache: "yes" as never }, "cleanCache"],
    [{ addr: "${path.module}" }, "addr"],
    [{ region: "eu-west-101" }, "region"],
    [{ endpoint: "https://dcs.example.com" }, "endpoint"],
    [{ triggers: { a: "b" } }, "triggers"],
    [{ waitTimeoutSeconds: 0 }, "waitTimeoutSeconds"],
    [{ colour: "red" }, "colour"],
  ];
  test.each(scanCases)("SessionScan %j → %s", (bad, field) => {
    expect(errorOf(() => new SessionScan(stack(), "s", { instanceId: "i", ...bad }))?.field).toBe(field);
  });

  const purgeCases: Array<[Partial<SessionPurgeProps> & Record<string, unknown>, string]> = [
    [{ allNodes: undefined }, "nodeIds"],
    [{ nodeIds: ["n1"] }, "nodeIds"],
    [{ maxSessions: -1 }, "maxSessions"],
    [{ minSessions: 10, maxSessions: 5 }, "minSessions"],
    [{ maintenanceWindow: { start: "2:00", end: "04:00" } }, "maintenanceWindow.start"],
    [
      { maintenanceWindow: { start: "02:00", end: "04:00", timeZone: "Mars/Olympus" } },
      "maintenanceWindow.timeZone",
    ],
    [{ outsideWindow: "later" as never }, "outsideWindow"],
    [{ dryRun: 1 as never }, "dryRun"],
    [{ waitTimeoutSeconds: 0 }, "waitTimeoutSeconds"],
    [{ triggers: ["x"] as never }, "triggers"],
    [{ triggers: { n: 1 as never } }, "triggers.n"],
    [{ triggers: { n: "${timestamp()}" } }, "triggers.n"],
    [{ alwaysRun: "yes" as never }, "alwaysRun"],
    [{ match: { users: ["a%{x}"] } }, "match.users[0]"],
    [{ match: { clients: ["10.0.0.1", "10.0.0.0/33"] } }, "match.clients[1]"],
    [{ match: { idleOverSeconds: 1.5 } }, "match.idleOverSeconds"],
    [{ match: {} }, "match"],
    [{ match: { hosts: ["a"] } as never }, "match.hosts"],
    [{ engine: "geminidb", match: { users: ["app"] } }, "match.users"],
    [{ projectId: "p1" }, "projectId"],
  ];
  test.each(purgeCases)("SessionPurge %j → %s", (bad, field) => {
    expect(
      errorOf(() => new SessionPurge(stack(), "p", { instanceId: "i", allNodes: true, ...bad }))?.field,
    ).toBe(field);
  });

  const providerCases: Array<[Record<string, unknown>, string]> = [
    [{ region: "Europe West" }, "region"],
    [{ region: "eu_west_101" }, "region"],
    [{ endpoint: "ftp://x" }, "endpoint"],
    // The client's own rule: plain http only on loopback.
    [{ geminidbEndpoint: "http://gaussdb.example.com" }, "geminidbEndpoint"],
    [{ endpoint: "https://x/${path.module}" }, "endpoint"],
    [{ projectId: "p 1" }, "projectId"],
    [{ alias: "1st" }, "alias"],
    [{ zone: "a" }, "zone"],
  ];
  test.each(providerCases)("DcsSessionsProvider %j → %s", (bad, field) => {
    expect(errorOf(() => new DcsSessionsProvider(stack(), "p", bad))?.field).toBe(field);
  });

  test.each(["accessKey", "secretKey", "securityToken", "authToken"])(
    "%s is refused without echoing the value, on every construct",
    (key) => {
      const value = "NeverPrintThisValue42";
      for (const make of [
        (s: cdktf.TerraformStack) => new DcsSessionsProvider(s, "p", { [key]: value } as never),
        (s: cdktf.TerraformStack) => new SessionScan(s, "s", { instanceId: "i", [key]: value } as never),
      ]) {
        const error = errorOf(() => make(stack()));
        expect(error?.field).toBe(key);
        expect(error?.message).toMatch(/environment/);
        expect(error?.message).not.toContain(value);
      }
    },
  );

  test.each(['"; rm -rf /', "$(touch /tmp/pwned)", "a\nb", '${file("/etc/passwd")}', "`id`"])(
    "the hostile value %j is rejected as instance id and as node id",
    (value) => {
      expect(errorOf(() => new SessionScan(stack(), "a", { instanceId: value }))?.field).toBe("instanceId");
      expect(
        errorOf(() => new SessionPurge(stack(), "d", { instanceId: "i", nodeIds: [value] }))?.field,
      ).toBe("nodeIds[0]");
    },
  );
});
