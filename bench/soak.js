/**
 * `npm run soak`: SOAK_CYCLES (default 1,000) scan-and-purge cycles against real `redis-server` nodes behind
 * the emulator's redis backend, with SOAK_CLIENTS (default 200) application connections that the purge kills
 * and that connect again before the next cycle. This process is the dcs-sessions client and nothing else
 * (the servers, the emulator and the applications run in bench/soak-peer.js), so what it measures is the
 * client's: open file descriptors (/proc/self/fd) and RSS after a full collection, sampled once per cycle.
 *
 * Each cycle checks its counts: the scan sees every application connection, the purge reports them all
 * before and none after, and the applications saw every one of their connections closed by the server.
 * It prints the figures (SOAK_JSON=1: one JSON document only) and exits 1 when a count was wrong, a promise
 * was rejected unhandled, or descriptors or RSS grew more than 10 % after the warm-up.
 *
 * It runs against dist/ (`npm run soak` builds first). Only loopback; everything it starts it stops.
 */
"use strict";
const { fork } = require("node:child_process");
const { readdirSync } = require("node:fs");
const path = require("node:path");

const dist = path.resolve(__dirname, "../dist");
const { createClient, scanSessions, purgeSessions } = require(dist);

const CYCLES = Number(process.env.SOAK_CYCLES ?? 1000);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 200);
const NODES = 2;
const JSON_ONLY = process.env.SOAK_JSON === "1";
/** Cycles before the baseline is taken: pools, caches and the JIT settle. */
const WARM_UP = Math.max(5, Math.floor(CYCLES / 10));
/** Largest growth allowed after the warm-up. */
const FLAT = 0.1;

let unhandled = 0;
process.on("unhandledRejection", (reason) => {
  unhandled++;
  process.stderr.write(`soak: unhandled rejection: ${String(reason)}\n`);
});

const say = (line) => {
  if (!JSON_ONLY) process.stdout.write(`${line}\n`);
};
const mb = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** A request to the peer and its answer (one at a time: the soak is sequential). */
function ask(peer, message, expected) {
  return new Promise((resolve, reject) => {
    const onMessage = (answer) => {
      peer.off("exit", onExit);
      peer.off("message", onMessage);
      if (answer.type === expected) resolve(answer);
      else reject(new Error(`soak peer: ${answer.message ?? JSON.stringify(answer)}`));
    };
    const onExit = (code) => {
      peer.off("message", onMessage);
      reject(new Error(`soak peer exited (${code}) before answering ${message.type}`));
    };
    peer.on("message", onMessage);
    peer.once("exit", onExit);
    if (message.type !== "ready") peer.send(message);
  });
}

function sample() {
  if (global.gc) global.gc();
  return { fds: readdirSync("/proc/self/fd").length, rss: process.memoryUsage().rss };
}

/**
 * Smallest, largest and growth after the warm-up, against the largest sample of the warm-up (a pool that
 * holds one more keep-alive socket for a cycle is not growth; one that keeps adding them is).
 */
function flatness(series) {
  const base = Math.max(...series.slice(0, WARM_UP));
  const after = series.slice(WARM_UP);
  const max = Math.max(...after);
  const min = Math.min(...after);
  return { base, min, max, last: series[series.length - 1], growth: (max - base) / base };
}

async function main() {
  if (!global.gc) throw new Error("run with node --expose-gc (npm run soak does)");
  if (CYCLES <= WARM_UP) throw new Error(`SOAK_CYCLES must exceed the warm-up (${WARM_UP})`);
  const peer = fork(path.join(__dirname, "soak-peer.js"), [], {
    env: { ...process.env, SOAK_CLIENTS: String(CLIENTS), SOAK_NODES: String(NODES) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const errors = [];
  const fds = [];
  const rss = [];
  const cycleMs = [];
  let peerUnhandled = 0;
  let shared;
  const started = performance.now();
  try {
    const { env, instanceId, nodeIds } = await ask(peer, { type: "ready" }, "ready");
    const clientOptions = { env, retry: { baseDelayMs: 50, maxDelayMs: 500 } };
    // A long-lived client for the scans, as a service would hold one; each purge makes and closes its own.
    shared = createClient(clientOptions);
    const perNode = CLIENTS / NODES;
    say(`soak: ${CYCLES} cycles, ${CLIENTS} application connections on ${NODES} redis-server nodes`);
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const t0 = performance.now();
      const wrong = (what, got, want) => errors.push(`cycle ${cycle}: ${what} ${got}, expected ${want}`);
      const { open, killed } = await ask(peer, { type: "connect" }, "connected");
      if (open !== CLIENTS) wrong("connections opened", open, CLIENTS);
      if (cycle > 1 && killed !== CLIENTS) wrong("connections the last purge closed", killed, CLIENTS);

      const scan = await scanSessions({ instanceId, client: shared });
      if (scan.totalSessions !== CLIENTS) wrong("scan totalSessions", scan.totalSessions, CLIENTS);
      for (const node of scan.nodes) {
        if (node.sessions !== perNode) wrong(`scan sessions of ${node.nodeId}`, node.sessions, perNode);
      }

      const purge = await purgeSessions({ instanceId, allNodes: true, clientOptions });
      if (purge.status !== "purged") wrong("purge status", purge.status, "purged");
      if (purge.sessionsBefore !== CLIENTS) wrong("purge sessionsBefore", purge.sessionsBefore, CLIENTS);
      if (purge.sessionsAfter !== 0) wrong("purge sessionsAfter", purge.sessionsAfter, 0);
      if (purge.jobIds.length !== 1) wrong("purge jobIds", purge.jobIds.length, 1);
      if (purge.nodes.map((n) => n.nodeId).join() !== nodeIds.slice(0, NODES).join())
        wrong("purge nodes", purge.nodes.map((n) => n.nodeId).join(), nodeIds.join());

      cycleMs.push(performance.now() - t0);
      const s = sample();
      fds.push(s.fds);
      rss.push(s.rss);
      if (cycle % 100 === 0 || cycle === WARM_UP)
        say(`  cycle ${cycle}: ${s.fds} fds, ${mb(s.rss)} MB RSS, ${errors.length} wrong counts`);
    }
  } finally {
    await shared?.close();
    if (peer.connected) {
      const stopped = await ask(peer, { type: "stop" }, "stopped").catch((error) => {
        errors.push(String(error));
        return { unhandled: 0 };
      });
      peerUnhandled = stopped.unhandled;
    }
    if (peer.exitCode === null) await new Promise((resolve) => peer.once("exit", resolve));
  }

  const sorted = [...cycleMs].sort((a, b) => a - b);
  const fd = flatness(fds);
  const mem = flatness(rss);
  const result = {
    cycles: CYCLES,
    clients: CLIENTS,
    nodes: NODES,
    warmUpCycles: WARM_UP,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    cycleMs: { median: Math.round(sorted[Math.floor(sorted.length / 2)]), max: Math.round(sorted.at(-1)) },
    fds: fd,
    rssMb: { base: mb(mem.base), min: mb(mem.min), max: mb(mem.max), last: mb(mem.last), growth: mem.growth },
    unhandledRejections: unhandled + peerUnhandled,
    wrongCounts: errors.length,
    firstErrors: errors.slice(0, 5),
    series: { fds, rssMb: rss.map(mb) },
  };
  const pct = (g) => `${g >= 0 ? "+" : ""}${(g * 100).toFixed(1)} %`;
  say(`soak: ${result.seconds} s, median cycle ${result.cycleMs.median} ms (max ${result.cycleMs.max} ms)`);
  say(`  open fds after warm-up: ${fd.base} → min ${fd.min}, max ${fd.max} (${pct(fd.growth)})`);
  say(
    `  RSS after warm-up: ${result.rssMb.base} MB → min ${result.rssMb.min}, max ${result.rssMb.max} MB (${pct(mem.growth)})`,
  );
  say(`  unhandled rejections: ${result.unhandledRejections}; wrong counts: ${result.wrongCounts}`);
  for (const e of result.firstErrors) say(`    ${e}`);
  if (JSON_ONLY) process.stdout.write(`${JSON.stringify(result)}\n`);
  const flat = fd.growth <= FLAT && mem.growth <= FLAT;
  if (!flat) say(`soak: FAILED: descriptors or RSS grew more than ${FLAT * 100} % after the warm-up`);
  if (result.wrongCounts > 0 || result.unhandledRejections > 0 || !flat) process.exitCode = 1;
}

main().catch((error) => {
  process.stderr.write(`soak: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
