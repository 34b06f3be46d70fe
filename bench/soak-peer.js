/**
 * The far side of `npm run soak`, in its own process so that the soak measures the client alone: real
 * `redis-server` nodes, the emulator's redis backend in front of them, and the application connections that
 * a purge kills and that connect again before the next cycle. Driven by the soak over the IPC channel:
 *
 *   { type: "connect" }  → opens every application connection again (the killed ones are gone) and answers
 *                          { type: "connected", open, killed }: `killed` counts the connections the server
 *                          closed since the last "connect" (the purge's kill, seen from the applications)
 *   { type: "stop" }     → closes everything it started and answers { type: "stopped", unhandled }
 */
"use strict";
const path = require("node:path");

const dist = path.resolve(__dirname, "../dist");
const { startEmulator } = require(path.join(dist, "emulator"));
const { openClients, startRedisServers } = require(path.join(dist, "testing/redis"));

const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 200);
const NODES = Number(process.env.SOAK_NODES ?? 2);

let unhandled = 0;
process.on("unhandledRejection", (reason) => {
  unhandled++;
  process.stderr.write(`soak peer: unhandled rejection: ${String(reason)}\n`);
});

async function main() {
  const servers = await startRedisServers(NODES);
  let emulator;
  /** The application connections of the current cycle, one batch per node. */
  let batches = [];
  try {
    emulator = await startEmulator({ redis: servers.urls, jobMs: 10 });
  } catch (error) {
    await servers.stop();
    throw error;
  }

  const closeBatches = async () => {
    await Promise.all(batches.map((b) => b.closeAll()));
    batches = [];
  };

  const connect = async () => {
    const killed = batches.reduce((n, b) => n + b.clients.filter((c) => c.isClosed()).length, 0);
    await closeBatches();
    batches = await Promise.all(
      servers.urls.map((url, node) => {
        const share = Math.floor(CLIENTS / NODES) + (node < CLIENTS % NODES ? 1 : 0);
        const specs = Array.from({ length: share }, (_, i) => ({ name: `app-${node}-${i}`, db: i % 4 }));
        return openClients(url, specs);
      }),
    );
    const open = batches.reduce((n, b) => n + b.clients.length, 0);
    return { killed, open };
  };

  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      await closeBatches();
      await emulator.close();
      await servers.stop();
    })();
    return stopping;
  };

  process.on("message", (message) => {
    if (message.type === "connect") {
      connect().then(
        (counts) => process.send({ type: "connected", ...counts }),
        (error) => process.send({ type: "error", message: String(error) }),
      );
    } else if (message.type === "stop") {
      stop().then(
        () => process.send({ type: "stopped", unhandled }, () => process.disconnect()),
        (error) => process.send({ type: "error", message: String(error) }, () => process.disconnect()),
      );
    }
  });
  // The soak went away without saying stop: clean up all the same.
  process.on("disconnect", () => void stop());

  process.send({
    type: "ready",
    env: emulator.env,
    instanceId: emulator.instanceId,
    nodeIds: emulator.nodeIds,
  });
}

main().catch((error) => {
  process.stderr.write(`soak peer: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
  if (process.connected) process.disconnect();
});
