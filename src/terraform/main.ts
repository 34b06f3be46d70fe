/**
 * The provider executable: what Terraform starts (through the wrapper that `install-provider` writes).
 * It prints the handshake line, serves until Terraform shuts it down, and exits, its socket directory gone.
 */
import { loadCore } from "./core";
import { createProvider } from "./provider";
import { PluginStartError, servePlugin, type RunningPlugin } from "./protocol/server";
import { warmUpCodecs } from "./protocol/services";
import { loadMsgpack } from "./protocol/values";

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
    // The handshake is out: load the message codecs and the core while Terraform connects.
    setImmediate(() => {
      warmUpCodecs();
      loadMsgpack();
      void loadCore();
    });
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
