/**
 * `npm run bench`: measures what users wait for and what they pay in memory, and prints figures and ratios.
 *
 *   1. aggregation alone: synthetic sessions folded into the snapshot accumulator, in process;
 *   2. an end-to-end scan: the real client against the emulator in a child process over loopback
 *      (signing, HTTP, paging, JSON parsing, aggregation), at BENCH_SESSIONS sessions (default 1,000,000)
 *      over BENCH_NODES nodes (default 100);
 *   3. a guarded purge of the same instance (kill-all + after scan);
 *   4. what an in-process emulator keeps once every node is scanned and cached, after a full collection.
 *
 * It runs against dist/ (`npm run bench` builds first). Only loopback; everything it starts it stops.
 */
"use strict";
const { spawn } = require("node:child_process");
const path = require("node:path");
const readline = require("node:readline");

const dist = path.resolve(__dirname, "../dist");
const { scanSessions, purgeSessions, createClient } = require(dist);
const { SessionAccumulator, factsOfClientInfo } = require(path.join(dist, "core/aggregate"));
const { createSyntheticNodes } = require(path.join(dist, "emulator/synthetic"));
const { startEmulator } = require(path.join(dist, "emulator"));

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 1_000_000);
const NODES = Number(process.env.BENCH_NODES ?? 100);
const PER_NODE = Math.ceil(SESSIONS / NODES);

const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);
const rate = (n, ms) => Math.round((n / ms) * 1000).toLocaleString("en-US");

/** Samples heapUsed every 20 ms while `fn` runs and returns its result with the peak. */
async function withPeakHeap(fn) {
  if (global.gc) global.gc();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 20);
  const started = performance.now();
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    return { result, ms: performance.now() - started, peakHeapGrowth: peak - base };
  } finally {
    clearInterval(timer);
  }
}

async function benchAggregation() {
  const nodes = createSyntheticNodes({ nodes: NODES, sessionsPerNode: PER_NODE, seed: 7 }, () => Date.now());
  const views = [];
  for (const node of nodes) views.push(await node.snapshot());
  const { result: total, ms } = await withPeakHeap(async () => {
    const acc = new SessionAccumulator({ topN: 10 });
    views.forEach((view, n) => {
      for (let i = 0; i < view.count; i++) acc.add(`node-${n}`, factsOfClientInfo(view.at(i)));
    });
    return acc.totalSessions;
  });
  return { total, ms };
}

/** heapUsed after two full collections: what is held, not garbage waiting to be collected. */
function retainedHeap() {
  if (!global.gc) throw new Error("run the benchmark with node --expose-gc (npm run bench does)");
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed;
}

/** Scans every node of an in-process emulator, so that it caches a snapshot per node, and measures what it keeps. */
async function benchEmulatorRetained() {
  const base = retainedHeap();
  const emulator = await startEmulator({
    synthetic: { nodes: NODES, sessionsPerNode: PER_NODE, seed: 7 },
    jobMs: 0,
  });
  const client = createClient({
    endpoint: emulator.endpoint,
    projectId: emulator.projectId,
    credentials: { kind: "aksk", accessKey: emulator.accessKey, secretKey: emulator.secretKey },
  });
  try {
    let scan;
    try {
      scan = await scanSessions({ instanceId: emulator.instanceId, client, topN: 10 });
    } finally {
      await client.close(); // before measuring: only the emulator's cache should be left
    }
    return { total: scan.totalSessions, held: retainedHeap() - base };
  } finally {
    await emulator.close();
  }
}

function startEmulatorProcess() {
  const child = spawn(
    process.execPath,
    [
      path.join(dist, "cli/main.js"),
      "emulator",
      "--synthetic-nodes",
      String(NODES),
      "--sessions-per-node",
      String(PER_NODE),
      "--job-ms",
      "50",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error("the emulator did not start within 60 s")), 60_000);
    child.once("exit", (code) => reject(new Error(`the emulator exited early (code ${code})`)));
    lines.once("line", (line) => {
      clearTimeout(timer);
      resolve({ child, info: JSON.parse(line) });
    });
  });
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function main() {
  console.log(
    `dcs-sessions benchmark — ${SESSIONS.toLocaleString("en-US")} sessions over ${NODES} nodes, node ${process.version}`,
  );

  const agg = await benchAggregation();
  console.log(
    `aggregation only      ${agg.ms.toFixed(0).padStart(7)} ms  ${rate(agg.total, agg.ms).padStart(10)} sessions/s`,
  );

  const held = await benchEmulatorRetained();
  console.log(
    `emulator, all cached  ${mb(held.held).padStart(7)} MB retained after GC for ${held.total.toLocaleString("en-US")} scanned sessions ` +
      `(${(held.held / held.total).toFixed(2)} B/session)`,
  );

  const { child, info } = await startEmulatorProcess();
  const client = createClient({
    endpoint: info.endpoint,
    projectId: info.projectId,
    credentials: { kind: "aksk", accessKey: info.accessKey, secretKey: info.secretKey },
  });
  try {
    const scan = await withPeakHeap(() => scanSessions({ instanceId: info.instanceId, client, topN: 10 }));
    if (scan.result.totalSessions !== NODES * PER_NODE) {
      throw new Error(`scan counted ${scan.result.totalSessions}, expected ${NODES * PER_NODE}`);
    }
    const snapshotBytes = Buffer.byteLength(JSON.stringify(scan.result));
    console.log(
      `scan over HTTP        ${scan.ms.toFixed(0).padStart(7)} ms  ${rate(scan.result.totalSessions, scan.ms).padStart(10)} sessions/s` +
        `  peak heap growth (garbage included) ${mb(scan.peakHeapGrowth)} MB (${(scan.peakHeapGrowth / scan.result.totalSessions).toFixed(1)} B/session)` +
        `  snapshot ${(snapshotBytes / 1024).toFixed(1)} KB`,
    );

    const purge = await withPeakHeap(() =>
      purgeSessions({ instanceId: info.instanceId, client, allNodes: true, maxSessions: SESSIONS * 2 }),
    );
    console.log(
      `purge (kill + after)  ${purge.ms.toFixed(0).padStart(7)} ms  status ${purge.result.status}, ` +
        `${purge.result.sessionsBefore} → ${purge.result.sessionsAfter}`,
    );

    console.log("ratios");
    console.log(`  scan time / aggregation time      ${(scan.ms / agg.ms).toFixed(2)}`);
    console.log(
      `  purge time / scan time            ${(purge.ms / scan.ms).toFixed(2)} (a purge includes two scans)`,
    );
    console.log(
      `  snapshot bytes / sessions         ${(snapshotBytes / scan.result.totalSessions).toFixed(4)}`,
    );
    console.log(`  max RSS of this process           ${mb(process.resourceUsage().maxRSS * 1024)} MB`);
  } finally {
    await client.close();
    await stop(child);
  }
}

main().catch((error) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
