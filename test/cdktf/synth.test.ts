/**
 * What the constructs synthesize (cdktf's Testing helpers and the parsed JSON), how they validate their
 * props, and that no secret, no absolute path and no user value in a shell string reaches the JSON.
 */
import { homedir } from "node:os";
import { TerraformOutput, TerraformStack, TerraformVariable, Testing } from "cdktf";
import { ValidationError } from "../../src/api/errors";
import { ExternalProvider, SessionPurge, SessionScan } from "../../src/cdktf";
import type { SessionPurgeProps, SessionScanProps } from "../../src/cdktf";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed Terraform JSON, read by path
type Json = Record<string, any>;

function synth(fn: Parameters<typeof Testing.synthScope>[0]): { text: string; json: Json } {
  const text = Testing.synthScope(fn);
  return { text, json: JSON.parse(text) as Json };
}

function only(map: Json | undefined): Json {
  const values = Object.values(map ?? {});
  expect(values).toHaveLength(1);
  return values[0] as Json;
}

const HOSTILE = [
  '"; rm -rf /',
  "$(touch /tmp/pwned)",
  "it's",
  'a"b',
  "a\nb",
  '${file("/etc/passwd")}',
  "`id`",
];

describe("SessionScan", () => {
  test('a data "external" source running the CLI through npx, with the props as strings in the query', () => {
    const { text, json } = synth((scope) => {
      const scan = new SessionScan(scope, "before", {
        instanceId: "inst-1",
        nodeIds: ["n1", "n2"],
        topN: 5,
        cleanCache: false,
        region: "eu-west-101",
      });
      new TerraformOutput(scope, "total", { value: scan.totalSessions });
      new TerraformOutput(scope, "stale", { value: scan.idleBuckets[">=24h"] });
      new TerraformOutput(scope, "ips", { value: scan.byClientIp });
    });
    expect(Testing.toHaveProvider(text, "external")).toBe(true);
    expect(
      Testing.toHaveDataSourceWithProperties(text, "external", {
        program: ["npx", "--no-install", "dcs-sessions", "terraform-external", "scan"],
        query: {
          instance_id: "inst-1",
          node_ids: "n1,n2",
          top_n: "5",
          clean_cache: "false",
          region: "eu-west-101",
        },
      }),
    ).toBe(true);
    expect(json.terraform.required_providers.external).toEqual({
      source: "hashicorp/external",
      version: "~> 2.3",
    });
    const [name] = Object.keys(json.data.external);
    expect(json.output.total.value).toBe(`\${data.external.${name}.result.total_sessions}`);
    expect(json.output.stale.value).toBe(`\${data.external.${name}.result.idle_ge_24h}`);
    expect(json.output.ips.value).toBe(`\${jsondecode(data.external.${name}.result.by_client_ip)}`);
    for (const value of Object.values(only(json.data.external).query)) expect(typeof value).toBe("string");
  });

  test("one provider block per stack, or the one the user passes", () => {
    const { json } = synth((scope) => {
      new SessionScan(scope, "a", { instanceId: "i1" });
      new SessionScan(scope, "b", { instanceId: "i2" });
    });
    expect(json.provider.external).toHaveLength(1);
    expect(Object.keys(json.data.external)).toHaveLength(2);

    const custom = synth((scope) => {
      const provider = new ExternalProvider(scope, "mine");
      provider.alias = "ops";
      new SessionScan(scope, "a", { instanceId: "i1", provider });
    });
    expect(only(custom.json.data.external).provider).toBe("external.ops");
    expect(custom.json.provider.external).toHaveLength(1);
  });

  test("the command prop replaces the CLI's argv", () => {
    const { json } = synth(
      (scope) => new SessionScan(scope, "s", { instanceId: "i", command: ["node", "bin/dcs-sessions.js"] }),
    );
    expect(only(json.data.external).program).toEqual([
      "node",
      "bin/dcs-sessions.js",
      "terraform-external",
      "scan",
    ]);
  });

  test("token props are left to Terraform and checked by the CLI at plan time", () => {
    const { json } = synth((scope) => {
      const id = new TerraformVariable(scope, "instance_id", { type: "string" });
      const nodes = new TerraformVariable(scope, "node_ids", { type: "list(string)" });
      const top = new TerraformVariable(scope, "top", { type: "number" });
      new SessionScan(scope, "s", {
        instanceId: id.stringValue,
        nodeIds: nodes.listValue,
        topN: top.numberValue,
      });
    });
    expect(only(json.data.external).query).toEqual({
      instance_id: "${var.instance_id}",
      node_ids: '${join(",", var.node_ids)}',
      top_n: "${var.top}",
    });
  });
});

describe("SessionPurge", () => {
  const props: SessionPurgeProps = {
    instanceId: "inst-1",
    allNodes: true,
    maxSessions: 5000,
    maintenanceWindow: { days: ["sat", "sun"], start: "02:00", end: "04:00", timeZone: "Europe/Paris" },
    outsideWindow: "skip",
    triggers: ["release-42"],
  };

  test("terraform_data with triggers_replace, a local-exec with argv and environment, and an after scan depending on it", () => {
    const { text, json } = synth((scope) => {
      const purge = new SessionPurge(scope, "purge", props);
      new TerraformOutput(scope, "after", { value: purge.sessionsAfter });
    });
    const environment = {
      DCS_SESSIONS_INSTANCE_ID: "inst-1",
      DCS_SESSIONS_ALL_NODES: "true",
      DCS_SESSIONS_MAX_SESSIONS: "5000",
      DCS_SESSIONS_WINDOW: "sat,sun 02:00-04:00 Europe/Paris",
      DCS_SESSIONS_OUTSIDE_WINDOW: "skip",
    };
    expect(
      Testing.toHaveResourceWithProperties(text, "terraform_data", {
        triggers_replace: { ...environment, triggers: ["release-42"] },
      }),
    ).toBe(true);
    const [resourceName] = Object.keys(json.resource.terraform_data);
    const resource = json.resource.terraform_data[resourceName!] as Json;
    expect(resource.provisioner).toEqual([
      {
        "local-exec": { interpreter: ["npx", "--no-install", "dcs-sessions"], command: "purge", environment },
      },
    ]);
    const after = only(json.data.external);
    expect(after.depends_on).toEqual([`terraform_data.${resourceName}`]);
    expect(after.query).toMatchObject({ instance_id: "inst-1", clean_cache: "true" });
    expect(json.output.after.value).toMatch(/^\$\{data\.external\.[^.]+\.result\.total_sessions\}$/);
  });

  test("alwaysRun puts the clock in triggers_replace; verify: false has no after scan", () => {
    const { json } = synth(
      (scope) =>
        new SessionPurge(scope, "p", { instanceId: "i", nodeIds: ["n1"], alwaysRun: true, verify: false }),
    );
    const resource = only(json.resource.terraform_data);
    expect(resource.triggers_replace.always).toBe("${timestamp()}");
    expect(resource.provisioner[0]["local-exec"].environment).toMatchObject({
      DCS_SESSIONS_NODE_IDS: "n1",
      DCS_SESSIONS_VERIFY: "false",
    });
    expect(json.data).toBeUndefined();
  });

  test("the connection props travel as the HW_* variables of DESIGN §3, never in a command string", () => {
    const { json } = synth(
      (scope) =>
        new SessionPurge(scope, "p", {
          instanceId: "i",
          allNodes: true,
          region: "eu-west-101",
          projectId: "p1",
          endpoint: "https://dcs.example.com",
        }),
    );
    const exec = only(json.resource.terraform_data).provisioner[0]["local-exec"];
    expect(exec.command).toBe("purge");
    expect(exec.environment).toMatchObject({
      HW_REGION_NAME: "eu-west-101",
      HW_PROJECT_ID: "p1",
      HW_DCS_ENDPOINT: "https://dcs.example.com",
    });
  });
});

describe("what the synthesized JSON never holds", () => {
  test("no secret from the environment and no machine-specific absolute path", () => {
    const secret = "SuperSecretKeyValue123";
    const saved = { sk: process.env.HW_SECRET_KEY, ak: process.env.HW_ACCESS_KEY };
    process.env.HW_SECRET_KEY = secret;
    process.env.HW_ACCESS_KEY = "AKIDEXAMPLE0001";
    try {
      const { text } = synth((scope) => {
        new SessionScan(scope, "s", { instanceId: "i" });
        new SessionPurge(scope, "p", { instanceId: "i", allNodes: true });
      });
      expect(text).not.toContain(secret);
      expect(text).not.toContain("AKIDEXAMPLE0001");
      expect(text).not.toContain(process.cwd());
      expect(text).not.toContain(homedir());
      expect(text).not.toContain(process.execPath);
      expect(text).not.toMatch(/"\/(usr|home|tmp|work|opt)\//);
    } finally {
      process.env.HW_SECRET_KEY = saved.sk;
      process.env.HW_ACCESS_KEY = saved.ak;
      if (saved.sk === undefined) delete process.env.HW_SECRET_KEY;
      if (saved.ak === undefined) delete process.env.HW_ACCESS_KEY;
    }
  });
});

describe("validation in the constructor names the prop", () => {
  function fieldOf(fn: () => void): string | undefined {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).field;
    }
    return undefined;
  }

  const scanCases: Array<[Partial<SessionScanProps>, string]> = [
    [{ instanceId: "" }, "instanceId"],
    [{ engine: "mysql" as never }, "engine"],
    [{ nodeIds: [] }, "nodeIds"],
    [{ nodeIds: ["ok", "not ok"] }, "nodeIds[1]"],
    [{ topN: 101 }, "topN"],
    [{ topN: 1.5 }, "topN"],
    [{ cleanCache: "yes" as never }, "cleanCache"],
    [{ waitTimeoutSeconds: 0 }, "waitTimeoutSeconds"],
    [{ region: "Europe West" }, "region"],
    [{ endpoint: "ftp://x" }, "endpoint"],
    // The client's own rule (the Pulumi check uses it too): plain http only on loopback.
    [{ endpoint: "http://dcs.example.com" }, "endpoint"],
    [{ region: "eu_west_101" }, "region"],
    [{ addr: "${path.module}" }, "addr"],
    [{ command: [] }, "command"],
    [{ command: ["npx", ""] }, "command"],
  ];
  test.each(scanCases)("SessionScan %j → %s", (bad, field) => {
    const stack = new TerraformStack(Testing.app(), "s");
    expect(fieldOf(() => new SessionScan(stack, "s", { instanceId: "i", ...bad }))).toBe(field);
  });

  const purgeCases: Array<[Partial<SessionPurgeProps>, string]> = [
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
    [{ triggers: "x" as never }, "triggers"],
  ];
  test.each(purgeCases)("SessionPurge %j → %s", (bad, field) => {
    const stack = new TerraformStack(Testing.app(), "s");
    expect(fieldOf(() => new SessionPurge(stack, "p", { instanceId: "i", allNodes: true, ...bad }))).toBe(
      field,
    );
  });

  test.each(HOSTILE)("the hostile value %j is rejected as instance id and as node id", (value) => {
    const stack = new TerraformStack(Testing.app(), "s");
    expect(fieldOf(() => new SessionScan(stack, "a", { instanceId: value }))).toBe("instanceId");
    expect(fieldOf(() => new SessionScan(stack, "b", { instanceId: "i", nodeIds: [value] }))).toBe(
      "nodeIds[0]",
    );
    expect(fieldOf(() => new SessionPurge(stack, "c", { instanceId: value, allNodes: true }))).toBe(
      "instanceId",
    );
    expect(fieldOf(() => new SessionPurge(stack, "d", { instanceId: "i", nodeIds: [value] }))).toBe(
      "nodeIds[0]",
    );
  });
});
