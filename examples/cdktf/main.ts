/**
 * A CDK Terrain (cdktn) app for a maintenance window: scan the sessions, purge every node (guarded), and
 * output what the purge recorded. With cdktf instead, change the import below: the constructs use
 * whichever library the stack is built with.
 *
 *   npm install && npm run synth
 *   export HW_ACCESS_KEY=... HW_SECRET_KEY=... HW_REGION_NAME=eu-west-101 HW_PROJECT_ID=...
 *   terraform -chdir=cdktf.out/stacks/dcs-sessions-maintenance init
 *   terraform -chdir=cdktf.out/stacks/dcs-sessions-maintenance apply \
 *     -var instance_id=<instance id> -var release_id=<anything that should purge again>
 *
 * Terraform runs the package's own provider (`dcs-sessions terraform install-provider` puts it where
 * `init` finds it); credentials stay in Terraform's environment and never reach the JSON or the state.
 */
import { App, TerraformOutput, TerraformStack, TerraformVariable } from "cdktn";
import type { Construct } from "constructs";
import { DcsSessionsProvider, SessionPurge, SessionScan } from "dcs-sessions/cdktf";

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

    // Region, project and credentials from Terraform's environment (HW_REGION_NAME, HW_PROJECT_ID, ...).
    new DcsSessionsProvider(this, "dcssessions");

    // Read at plan time: what is connected now.
    const before = new SessionScan(this, "before", { instanceId: instanceId.stringValue, topN: 20 });

    // Created (and so run) on the first apply, and replaced (run again) when release_id changes. Outside the
    // window the purge is recorded as skipped and the next plan proposes it again.
    const purge = new SessionPurge(this, "purge", {
      instanceId: instanceId.stringValue,
      allNodes: true,
      maxSessions: 5000,
      maintenanceWindow: { days: ["sat", "sun"], start: "02:00", end: "04:00", timeZone: "Europe/Paris" },
      outsideWindow: "skip",
      triggers: { release: releaseId.stringValue },
      dependsOn: [before],
    });

    new TerraformOutput(this, "sessions_before", { value: before.totalSessions });
    new TerraformOutput(this, "idle_over_a_day", { value: before.idleBuckets[">=24h"] });
    new TerraformOutput(this, "sessions_by_client_ip", { value: before.byClientIp });
    new TerraformOutput(this, "purge_status", { value: purge.status });
    new TerraformOutput(this, "sessions_after", { value: purge.sessionsAfter });
  }
}

if (require.main === module) {
  const app = new App();
  new SessionMaintenanceStack(app, "dcs-sessions-maintenance");
  app.synth();
}
