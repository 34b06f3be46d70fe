/**
 * The secrets a test handed out or saw on the wire, and a byte-for-byte search for them in whatever a front
 * end printed, stored or threw. The emulator tells us (its `onCredentials` option) the signature, security
 * token and IAM token of every request it received, valid or not, so the search covers the signatures the
 * client really sent, not a pattern that looks like one.
 */
import { startEmulator } from "../../src/emulator/server";
import type { EmulatorHandle, SeenCredentials, SyntheticOptions } from "../../src/emulator/types";

const HEX_RUN = /[0-9a-f]{64,}/gi;

export class SecretWitness {
  /** Fixed secrets (keys, tokens) by value, with what they are. */
  private readonly named = new Map<string, string>();
  /** Every request signature seen, lower-case hex. */
  readonly signatures = new Set<string>();
  readonly securityTokens = new Set<string>();
  readonly authTokens = new Set<string>();
  /** How many requests the emulator told us about. */
  requests = 0;

  /** A secret the test gave a front end (a secret key, a token). Short values would match by chance. */
  add(label: string, value: string | undefined): this {
    if (value === undefined || value === "") return this;
    if (value.length < 12) throw new Error(`a witnessed secret must be at least 12 characters (${label})`);
    if (!this.named.has(value)) this.named.set(value, label);
    return this;
  }

  /** Pass as the emulator's `onCredentials`. */
  readonly observe = (seen: SeenCredentials): void => {
    this.requests++;
    if (seen.signature) this.signatures.add(seen.signature.toLowerCase());
    if (seen.securityToken) {
      this.securityTokens.add(seen.securityToken);
      this.add("the security token the emulator received", seen.securityToken);
    }
    if (seen.authToken) {
      this.authTokens.add(seen.authToken);
      this.add("the IAM token the emulator received", seen.authToken);
    }
  };

  /**
   * What of the witnessed secrets occurs in `text`, by label (never the value). Keys and tokens are searched
   * as bytes; signatures through every run of 64 or more hex digits, each 64-digit window of it.
   */
  leaksIn(text: string | Buffer): string[] {
    const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
    const found: string[] = [];
    for (const [value, label] of this.named) {
      if (bytes.indexOf(Buffer.from(value, "utf8")) >= 0) found.push(label);
    }
    const asText = bytes.toString("latin1");
    let signatures = 0;
    for (const match of asText.matchAll(HEX_RUN)) {
      const run = match[0].toLowerCase();
      for (let i = 0; i + 64 <= run.length; i++) if (this.signatures.has(run.slice(i, i + 64))) signatures++;
    }
    if (signatures > 0) found.push(`${signatures} request signature(s)`);
    return found;
  }

  /** Fails naming where and what leaked, without printing the secret. */
  expectNoneIn(where: string, text: string | Buffer): void {
    const leaks = this.leaksIn(text);
    if (leaks.length > 0) throw new Error(`${where} holds ${leaks.join(", ")}`);
  }
}

export interface WitnessedEmulatorOptions {
  synthetic: SyntheticOptions;
  /** The IAM token the emulator accepts (witnessed). */
  authToken: string;
  /** A security token the test hands a front end (witnessed; the emulator accepts any). */
  securityToken: string;
  /** A wrong secret key the test hands a front end (witnessed), when it has one. */
  wrongSecret?: string;
}

/**
 * An emulator of synthetic sessions that tells `witness` the credentials of every request, with its secret
 * key and the test's tokens already witnessed: the start every end-to-end secrets test shares.
 */
export async function startWitnessedEmulator(
  witness: SecretWitness,
  options: WitnessedEmulatorOptions,
): Promise<EmulatorHandle> {
  const emulator = await startEmulator({
    synthetic: options.synthetic,
    jobMs: 10,
    authToken: options.authToken,
    onCredentials: witness.observe,
  });
  witness
    .add("the secret key", emulator.secretKey)
    .add("the wrong secret key", options.wrongSecret)
    .add("the IAM token", options.authToken)
    .add("the security token", options.securityToken);
  return emulator;
}
