/**
 * Everything the CLI touches outside itself, passed in so tests can run it in process with their own streams
 * and environment; `main.ts` passes the real process.
 */
export interface OutputStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CliContext {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** The clock, for progress lines and elapsed times. */
  now: () => Date;
}

export function processContext(): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    now: () => new Date(),
  };
}

/** `NO_COLOR` (no-color.org): colour is off when the variable is present and not empty. */
export function colourEnabled(stream: OutputStream, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

/** `DEBUG=1`, `DEBUG=*`, `DEBUG=true` or a `DEBUG` list naming `dcs-sessions` asks for stack traces. */
export function debugEnabled(env: Record<string, string | undefined>): boolean {
  const value = env.DEBUG?.trim();
  if (!value) return false;
  return (
    ["1", "true", "*"].includes(value) || value.split(/[,\s]+/).some((p) => p.startsWith("dcs-sessions"))
  );
}
