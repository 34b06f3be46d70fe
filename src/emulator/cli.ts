/**
 * `dcs-sessions emulator`: starts the emulator, prints one JSON line that tells a pipeline where it is and
 * how to sign for it, then serves until SIGINT or SIGTERM (or the given signal aborts) and closes cleanly.
 */
import { startEmulator } from "./server";
import type { EmulatorHandle, EmulatorOptions } from "./types";

export interface RunEmulatorIo {
  /** Where the JSON line goes (default `process.stdout`). */
  stdout?: { write(text: string): unknown };
  /** Where the one-line notice goes (default `process.stderr`). */
  stderr?: { write(text: string): unknown };
  /** Stops the emulator when aborted, as SIGINT/SIGTERM do (for callers that run it in process). */
  signal?: AbortSignal;
  /** Called once the emulator serves (tests use it to reach the handle). */
  onStarted?: (handle: EmulatorHandle) => void;
}

/** The first line on stdout: the names of DESIGN §5, in that order. */
export function startupLine(handle: EmulatorHandle): string {
  return JSON.stringify({
    endpoint: handle.endpoint,
    geminidbEndpoint: handle.geminidbEndpoint,
    projectId: handle.projectId,
    instanceId: handle.instanceId,
    nodeIds: handle.nodeIds,
    accessKey: handle.accessKey,
    secretKey: handle.secretKey,
    region: handle.region,
  });
}

export async function runEmulator(options: EmulatorOptions = {}, io: RunEmulatorIo = {}): Promise<void> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const handle = await startEmulator(options);
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onSignal = () => stop();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  io.signal?.addEventListener("abort", onSignal, { once: true });
  try {
    stdout.write(`${startupLine(handle)}\n`);
    stderr.write(`dcs-sessions emulator serving ${handle.endpoint} (Ctrl-C to stop)\n`);
    io.onStarted?.(handle);
    if (io.signal?.aborted) stop();
    await stopped;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    io.signal?.removeEventListener("abort", onSignal);
    await handle.close();
  }
}
