/** `createClient`: the DCS v2 and GeminiDB v3 session operations. Stub: the foundation issue implements it. */
import type { ClientOptions, SessionsClient } from "./types";

export function createClient(_options: ClientOptions = {}): SessionsClient {
  throw new Error("not implemented");
}
