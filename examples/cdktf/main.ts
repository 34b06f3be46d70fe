/**
 * A CDKTF app for a maintenance window: scan the sessions, purge every node (guarded), read what is left.
 *
 *   export HW_ACCESS_KEY=... HW_SECRET_KEY=... HW_REGION_NAME=eu-west-101 HW_PROJECT_ID=...
 *   cdktf deploy --var instance_id=<instance id> --var release_id=<anything that should purge again>
 *
 * Credentials stay in the environment of `cdktf`/`terraform`: the external program and the local-exec
 * inherit it, and nothing secret is written to the synthesized JSON or the state.
 */
import { App, TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { SessionPurge, SessionScan } from "dcs-sessions/cdktf";

export class SessionMaintenanceStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);

    const instanceId = new TerraformVariable(this, "instance_id", {
      type: "string",
      description: "The DCS instance whose client sessions are purged",
    });
    const releaseId = new TerraformVariable(this, "release_id", {
      type: "string",
      default: "initial",
      description:
        "Change it to purge again on the next apply (e.g. the release that needs fresh connections)",
    });

    // Read at plan time: what is connected now.
    const before = new SessionScan(this, "before", { instanceId: instanceId.stringValue, topN: 20 });

    // Runs when terraform_data is created or replaced (a new release_id, or changed inputs). Outside the
    // window the apply fails (outsideWindow defaults to "fail"), Terraform taints the resource, and the next
    // apply inside the window purges.
    const purge = new SessionPurge(this, "purge", {
      instanceId: instanceId.stringValue,
      allNodes: true,
      maxSessions: 5000,
      maintenanceWindow: { days: ["sat", "sun"], start: "02:00", end: "04:00", timeZone: "Europe/Paris" },
      triggers: [releaseId.stringValue],
      dependsOn: [before.dataSource],
    });

    new TerraformOutput(this, "sessions_before", { value: before.totalSessions });
    new TerraformOutput(this, "idle_over_a_day", { value: before.idleBuckets[">=24h"] });
    new TerraformOutput(this, "sessions_by_client_ip", { value: before.byClientIp });
    new TerraformOutput(this, "sessions_after", { value: purge.sessionsAfter });
  }
}

if (require.main === module) {
  const app = new App();
  new SessionMaintenanceStack(app, "dcs-sessions-maintenance");
  app.synth();
}
