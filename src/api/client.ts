/** `createClient`: the DCS v2 and GeminiDB v3 session operations over one transport. */
import { z } from "zod";
import { authKind, resolveConfig } from "./config";
import { createDcsApi } from "./dcs";
import { createGeminiDbApi } from "./geminidb";
import { createTransport } from "./http";
import { DEFAULT_RETRY_POLICY } from "./retry";
import { parseInput } from "./schemas";
import type { ClientOptions, SessionsClient, TimeoutOptions } from "./types";

export const DEFAULT_TIMEOUTS: Readonly<Required<TimeoutOptions>> = {
  connectMs: 10_000,
  headersMs: 30_000,
  bodyMs: 30_000,
  callMs: 120_000,
};

const RetryOptionsSchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(10).optional(),
  baseDelayMs: z.number().int().min(0).max(60_000).optional(),
  maxDelayMs: z.number().int().min(0).max(300_000).optional(),
});

const milliseconds = z.number().int().min(1).max(3_600_000).optional();
const TimeoutOptionsSchema = z.strictObject({
  connectMs: milliseconds,
  headersMs: milliseconds,
  bodyMs: milliseconds,
  callMs: milliseconds,
});

/**
 * Creates a client. Configuration not given here comes from the environment (DESIGN §3); a missing credential
 * is a CredentialsError and a bad option a ValidationError, both thrown here before any request.
 */
export function createClient(options: ClientOptions = {}): SessionsClient {
  const retry = parseInput(RetryOptionsSchema, options.retry ?? {}, "retry");
  const timeouts = parseInput(TimeoutOptionsSchema, options.timeouts ?? {}, "timeouts");
  const resolved = resolveConfig(options);
  const transport = createTransport({
    projectId: resolved.projectId,
    endpoints: { dcs: resolved.endpoint, geminidb: resolved.geminidbEndpoint },
    credentials: resolved.credentials,
    retry: { ...DEFAULT_RETRY_POLICY, ...retry },
    timeouts: { ...DEFAULT_TIMEOUTS, ...timeouts },
    dispatcher: options.dispatcher,
    logger: options.logger,
    now: options.now ?? (() => new Date()),
  });
  // Only what is safe to print: the credentials stay inside the transport's closure.
  const config = Object.freeze({
    region: resolved.region,
    projectId: resolved.projectId,
    endpoint: resolved.endpoint,
    geminidbEndpoint: resolved.geminidbEndpoint,
    auth: authKind(resolved.credentials),
  });
  return {
    dcs: createDcsApi(transport, options.logger),
    geminidb: createGeminiDbApi(transport),
    config,
    close: () => transport.close(),
  };
}
