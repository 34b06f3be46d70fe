/** The emulator's HTTP server. Stub: the emulator issue implements it. */
import type { EmulatorHandle, EmulatorOptions } from "./types";

export async function startEmulator(_options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  throw new Error("not implemented");
}
