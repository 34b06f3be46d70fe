/**
 * Counts an instance's client sessions, then purges them in a weekend maintenance window.
 *
 * Stack config (`pulumi config set <key> <value>`):
 *   instanceId     the DCS instance id (required)
 *   releaseId      any text; changing it runs the purge again on the next `pulumi up` (default "1")
 *   maxSessions    refuse to purge when more sessions than this are connected (default 5000)
 * Credentials and location, from the stack config or the environment:
 *   huaweicloud:region       or HW_REGION_NAME
 *   huaweicloud:projectId    or HW_PROJECT_ID
 *   huaweicloud:accessKey    or HW_ACCESS_KEY
 *   huaweicloud:secretKey    or HW_SECRET_KEY     (pulumi config set --secret huaweicloud:secretKey …)
 */
import * as pulumi from "@pulumi/pulumi";
import { SessionPurge, SessionScan } from "dcs-sessions/pulumi";

const config = new pulumi.Config();
const instanceId = config.require("instanceId");
const releaseId = config.get("releaseId") ?? "1";

const before = new SessionScan("before", { instanceId });
const purge = new SessionPurge(
  "purge",
  {
    instanceId,
    allNodes: true,
    maxSessions: config.getNumber("maxSessions") ?? 5000,
    maintenanceWindow: { days: ["sat", "sun"], start: "02:00", end: "04:00", timeZone: "Europe/Paris" },
    triggers: [releaseId],
  },
  { dependsOn: [before] },
);

export const sessionsBefore = purge.sessionsBefore;
export const sessionsAfter = purge.sessionsAfter;
export const purgeStatus = purge.status;
export const sessionsByClientIp = before.byClientIp;
