/** What the provider uses of the core and its schemas (loaded lazily, see core.ts). */
export { listIssues } from "../api/schemas";
export { purgeSessions } from "../core/purge";
export { ResourceInputsSchema, resourceInputIssues } from "../core/resource-inputs";
export { scanSessions } from "../core/scan";
