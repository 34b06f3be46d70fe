/**
 * The `dcssessions` provider: its block (where to connect and with which credentials, each falling back to
 * the environment of DESIGN §3), and its data source and resource. Provider configuration lives only in
 * this process: Terraform never writes it to state, and no resource attribute holds a credential.
 */
import { ENV_VARS } from "../api/config";
import type { ClientOptions } from "../api/types";
import { secretsInEnv } from "../core/secrets";
import type { PurgeOptions, PurgeReport, ScanOptions, SessionSnapshot } from "../core/types";
import { loadCore } from "./core";
import { issueDiagnostics, isUnknownValue, toCore } from "./attributes";
import type { BlockSpec } from "./protocol/schema";
import type { Diagnostic, ProviderDefinition } from "./protocol/types";
import type { ObjectValue } from "./protocol/values";
import { containsUnknown } from "./protocol/values";
import { purgeResource } from "./purge";
import { scanDataSource } from "./scan";

export const PROVIDER_SOURCE = "dcs-sessions/dcssessions";
export const PROVIDER_TYPE = "dcssessions";

const envList = (names: readonly string[]) => `Default: ${names.join(", then ")} from the environment.`;

export const PROVIDER_SCHEMA: BlockSpec = {
  description: "Client sessions of Huawei Cloud Redis (DCS and GeminiDB Redis): scan and guarded purge.",
  attributes: {
    region: { type: "string", optional: true, description: `Region id. ${envList(ENV_VARS.region)}` },
    project_id: { type: "string", optional: true, description: `Project id. ${envList(ENV_VARS.projectId)}` },
    endpoint: {
      type: "string",
      optional: true,
      description: `DCS endpoint override (https, or http on loopback). ${envList(ENV_VARS.endpoint)}`,
    },
    geminidb_endpoint: {
      type: "string",
      optional: true,
      description: `GeminiDB endpoint override. ${envList(ENV_VARS.geminidbEndpoint)}`,
    },
    access_key: { type: "string", optional: true, description: `Access key. ${envList(ENV_VARS.accessKey)}` },
    secret_key: {
      type: "string",
      optional: true,
      sensitive: true,
      description: `Secret key. ${envList(ENV_VARS.secretKey)}`,
    },
    security_token: {
      type: "string",
      optional: true,
      sensitive: true,
      description: `Security token of temporary credentials. ${envList(ENV_VARS.securityToken)}`,
    },
    auth_token: {
      type: "string",
      optional: true,
      sensitive: true,
      description: `IAM token, instead of an access key pair. ${envList(ENV_VARS.authToken)}`,
    },
  },
};

/** Provider attributes that are credentials, and the variable each one stands in for (the first of §3's). */
const CREDENTIAL_ATTRIBUTES = {
  access_key: ENV_VARS.accessKey[0],
  secret_key: ENV_VARS.secretKey[0],
  security_token: ENV_VARS.securityToken[0],
  auth_token: ENV_VARS.authToken[0],
} as const;

/** Operations the provider runs; tests pass their own. */
export interface SessionOperations {
  scanSessions(options: ScanOptions): Promise<SessionSnapshot>;
  purgeSessions(options: PurgeOptions): Promise<PurgeReport>;
}

/** What the data source and the resource get from the configured provider. */
export interface ProviderContext {
  operations: SessionOperations;
  /** Client options of the configured provider block (credentials through `env`). */
  clientOptions(): ClientOptions;
  /** Every secret known to this process, for redaction. */
  secrets(): string[];
}

export interface ProviderOptions {
  operations?: SessionOperations;
  env?: Record<string, string | undefined>;
}

export function createProvider(options: ProviderOptions = {}): ProviderDefinition {
  const baseEnv = options.env ?? process.env;
  let config: ObjectValue = {};
  // A credential in the block stands in front of the environment's variables: the client's own rules
  // (first variable found wins, AK/SK before a token, a half pair is an error) then decide, once.
  const env = (): Record<string, string | undefined> => {
    const overlay: Record<string, string> = {};
    for (const [attribute, variable] of Object.entries(CREDENTIAL_ATTRIBUTES)) {
      const value = config[attribute];
      if (typeof value === "string" && value !== "") overlay[variable] = value;
    }
    return { ...baseEnv, ...overlay };
  };
  const context: ProviderContext = {
    operations: options.operations ?? {
      scanSessions: async (o) => (await loadCore()).scanSessions(o),
      purgeSessions: async (o) => (await loadCore()).purgeSessions(o),
    },
    clientOptions: () => {
      const where = toCore(config, Object.keys(CREDENTIAL_ATTRIBUTES)) as ClientOptions;
      return { ...where, env: env() };
    },
    secrets: () => secretsInEnv(env()),
  };

  const validate = async (value: ObjectValue): Promise<Diagnostic[]> => {
    const { listIssues, ResourceInputsSchema } = await loadCore();
    const where = toCore(value, Object.keys(CREDENTIAL_ATTRIBUTES));
    const known = Object.fromEntries(Object.entries(where).filter(([, v]) => !isUnknownValue(v)));
    const issues = listIssues(ResourceInputsSchema, known).map((issue) => ({
      property: issue.field.split(/[.[]/)[0] ?? issue.field,
      ...issue,
    }));
    return issueDiagnostics(issues);
  };

  return {
    schema: PROVIDER_SCHEMA,
    validate,
    async configure(value) {
      if (containsUnknown(value)) {
        return [
          {
            severity: "error",
            summary: "The dcssessions provider block is not known yet",
            detail: "Give the provider block values known at plan time (variables or literals).",
          },
        ];
      }
      const diagnostics = await validate(value);
      if (diagnostics.length === 0) config = value;
      return diagnostics;
    },
    resources: { dcssessions_purge: purgeResource(context) },
    dataSources: { dcssessions_scan: scanDataSource(context) },
  };
}
