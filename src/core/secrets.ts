/** Which environment values are secrets, for the front ends that must mask them in what they print. */
import { ENV_VARS } from "../api/config";

/** The environment variables that hold a secret key or token (DESIGN §3), in one list for every front end. */
export const SECRET_ENV_VARS: readonly string[] = [
  ...ENV_VARS.secretKey,
  ...ENV_VARS.securityToken,
  ...ENV_VARS.authToken,
];

/** The secret values set in an environment, for `redact`. */
export function secretsInEnv(env: Record<string, string | undefined>): string[] {
  return SECRET_ENV_VARS.map((name) => env[name]).filter((v): v is string => v !== undefined && v !== "");
}
