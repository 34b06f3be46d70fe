/**
 * Counts an instance's client sessions, purges them in a weekend maintenance window, and counts again.
 *
 * Stack config (`pulumi config set <key> <value>`):
 *   instanceId         the DCS instance id (required)
 *   releaseId          any text; changing it runs the purge (and the scans) again on the next `pulumi up`
 *                      (default "1")
 *   maxSessions        refuse to purge when more sessions than this are connected (default 5000)
 *   maintenanceWindow  when the purge may run (default: sat,sun 02:00-04:00 Europe/Paris), e.g.
 *                      pulumi config set --path maintenanceWindow.start 01:00
 * Credentials and location, from the stack config or the environment:
 *   huaweicloud:region       or HW_REGION_NAME
 *   huaweicloud:projectId    or HW_PROJECT_ID
 *   huaweicloud:accessKey    or HW_ACCESS_KEY
 *   huaweicloud:secretKey    or HW_SECRET_KEY     (pulumi config set --secret huaweicloud:secretKey …)
 */
import * as pulumi from "@pulumi/pulumi";
import { SessionPurge, SessionScan, type SessionPurgeArgs } from "dcs-sessions/pulumi";

type Window = NonNullable<SessionPurgeArgs["maintenanceWindow"]>;

const config = new pulumi.Config();
const instanceId = config.require("instanceId");
const releaseId = config.get("releaseId") ?? "1";
const maintenanceWindow: Window = config.getObject<Window>("maintenanceWindow") ?? {
  days: ["sat", "sun"],
  start: "02:00",
  end: "04:00",
  timeZone: "Europe/Paris",
};

const before = new SessionScan("before", { instanceId, triggers: [releaseId] });
const purge = new SessionPurge(
  "purge",
  {
    instanceId,
    allNodes: true,
    maxSessions: config.getNumber("maxSessions") ?? 5000,
    maintenanceWindow,
    triggers: [releaseId],
  },
  { dependsOn: [before] },
);
const after = new SessionScan("after", { instanceId, triggers: [releaseId] }, { dependsOn: [purge] });

export const sessionsBefore = purge.sessionsBefore;
export const sessionsAfter = purge.sessionsAfter;
export const purgeStatus = purge.status;
export const sessionsByClientIp = before.byClientIp;
export const sessionsLeft = after.totalSessions;
