/** Credentials and configuration (DESIGN §3). Stub: the foundation issue implements it. */
import type { ClientOptions, Credentials } from "./types";

export interface ResolvedConfig {
  region?: string;
  projectId: string;
  endpoint: string;
  geminidbEndpoint: string;
  credentials: Credentials;
}

export function resolveConfig(_options: ClientOptions = {}): ResolvedConfig {
  throw new Error("not implemented");
}
