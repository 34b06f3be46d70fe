/**
 * The setup the provider-host tests share: an emulator, a consumer project folder, the real dynamic-provider
 * host started in it with the emulator's environment, and a `Stack` over that host. Each test file calls
 * `useProviderHostStack` inside its describe; the hooks it registers start everything before the tests and
 * close it after them, in that order (host, project folder, emulator).
 */
import { startEmulator } from "../../../src/emulator/server";
import type { EmulatorHandle, EmulatorOptions } from "../../../src/emulator/types";
import { startProviderHost, type ProviderHost } from "../../../src/testing/provider-host";
import { createConsumerProject, type ConsumerProject } from "./consumer";
import { Stack } from "./stack";

export interface ProviderHostStack {
  readonly emulator: EmulatorHandle;
  readonly host: ProviderHost;
  readonly stack: Stack;
}

export interface ProviderHostStackOptions {
  /** Clear the emulator's faults and counters before each test, so that each test sees only its own calls. */
  resetBeforeEach?: boolean;
}

/**
 * Registers the beforeAll/afterAll (and, when asked, beforeEach) hooks and returns accessors, valid inside
 * tests and later hooks. `emulatorOptions` may be a function, for options known only once an earlier
 * beforeAll ran (the urls of redis servers it started).
 */
export function useProviderHostStack(
  emulatorOptions: EmulatorOptions | (() => EmulatorOptions),
  options: ProviderHostStackOptions = {},
): ProviderHostStack {
  let emulator: EmulatorHandle | undefined;
  let project: ConsumerProject | undefined;
  let host: ProviderHost | undefined;
  let stack: Stack | undefined;

  beforeAll(async () => {
    emulator = await startEmulator(
      typeof emulatorOptions === "function" ? emulatorOptions() : emulatorOptions,
    );
    project = createConsumerProject();
    host = await startProviderHost({ cwd: project.dir, env: { PATH: process.env.PATH, ...emulator.env } });
    await host.configure({});
    stack = new Stack(host);
  });
  afterAll(async () => {
    await host?.close();
    project?.remove();
    await emulator?.close();
  });
  if (options.resetBeforeEach) {
    beforeEach(async () => {
      await started(emulator, "emulator").control.clearFaults();
      await started(emulator, "emulator").control.resetCounters();
    });
  }

  return {
    get emulator() {
      return started(emulator, "emulator");
    },
    get host() {
      return started(host, "provider host");
    },
    get stack() {
      return started(stack, "stack");
    },
  };
}

function started<T>(value: T | undefined, what: string): T {
  if (value === undefined)
    throw new Error(`the ${what} is not started (use it inside a test or a later hook)`);
  return value;
}
