/** The example app in examples/cdktf synthesizes both constructs, wired as documented. */
import { Testing } from "cdktf";
import { SessionMaintenanceStack } from "../../examples/cdktf/main";

test("examples/cdktf synthesizes a scan, a guarded purge and the after scan", () => {
  const stack = new SessionMaintenanceStack(Testing.app(), "example");
  const json = JSON.parse(Testing.synth(stack)) as {
    data: { external: Record<string, { query: Record<string, string>; depends_on?: string[] }> };
    resource: {
      terraform_data: Record<
        string,
        { provisioner: Array<Record<string, { environment: Record<string, string> }>> }
      >;
    };
    output: Record<string, { value: string }>;
  };
  const scans = Object.entries(json.data.external);
  expect(scans).toHaveLength(2);
  const [purgeName, purge] = Object.entries(json.resource.terraform_data)[0]!;
  expect(purge.provisioner[0]!["local-exec"]!.environment).toMatchObject({
    DCS_SESSIONS_INSTANCE_ID: "${var.instance_id}",
    DCS_SESSIONS_ALL_NODES: "true",
    DCS_SESSIONS_MAX_SESSIONS: "5000",
    DCS_SESSIONS_WINDOW: "sat,sun 02:00-04:00 Europe/Paris",
  });
  expect(purge.provisioner[0]!["local-exec"]!.environment.DCS_SESSIONS_OUTSIDE_WINDOW).toBeUndefined();
  const after = scans.find(([, s]) => s.depends_on?.includes(`terraform_data.${purgeName}`));
  expect(after).toBeDefined();
  expect(Object.keys(json.output).sort()).toEqual([
    "idle_over_a_day",
    "sessions_after",
    "sessions_before",
    "sessions_by_client_ip",
  ]);
});
