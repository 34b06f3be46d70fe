/**
 * The provider executable: what Terraform starts (through the wrapper that `install-provider` writes).
 * It prints the handshake line, serves until Terraform shuts it down, and exits, its socket directory gone.
 */
import { createProvider } from "./provider";
import { PluginStartError, servePlugin, type RunningPlugin } from "./protocol/server";
import { warmUpCodecs } from "./protocol/services";

export async function main(): Promise<number> {
  // Terraform's Ctrl-C reaches the whole process group; Terraform then asks us to stop over gRPC.
  process.on("SIGINT", () => undefined);
  // Listening before the handshake: a signal that comes right after it must still clean up.
  let plugin: RunningPlugin | undefined;
  const onSignal = () => (plugin ? void plugin.stop() : process.exit(1));
  process.once("SIGTERM", onSignal);
  process.once("SIGHUP", onSignal);
  try {
    plugin = await servePlugin(createProvider());
    // The handshake is out: the message codecs are needed by the first call, whatever it is. The core (zod,
    // undici) is not loaded here but by the first call that needs it: Terraform starts the provider once
    // only for its schema, and that process must not spend its life loading what it never uses.
    setImmediate(warmUpCodecs);
    await plugin.stopped;
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`dcs-sessions provider: ${message}\n`);
    return error instanceof PluginStartError ? 2 : 1;
  }
}

if (require.main === module) {
  // Exit once served: open keep-alive pools must not keep a finished provider alive.
  void main().then((code) => process.exit(code));
}
