/**
 * One measured run of one way of reading an instance's sessions, in a process of its own so that its CPU time
 * and peak RSS are its own: `node bench/client.js '<json task>'` prints one JSON line of figures.
 *
 * Variants (the same emulator, the same pages):
 *   - `floor`: raw signed GETs of every page over one keep-alive pool, bodies read but not decoded or parsed;
 *   - `dcs`: `scanSessions` of this package;
 *   - `dcs-again`, `floor-again`: the same twice in one process (one client, one pool); the figures are the
 *     second listing's (`scanMs` its wall time): the steady state, the JIT warm and undici loaded;
 *   - `naive`: what a user writes from the API reference: `fetch`, `JSON.parse`, every session pushed into
 *     one array (tagged with its node), nodes one after the other, pages one after the other, a job polled every second, the
 *     figures computed from the array at the end.
 * `rescan: true` takes a fresh snapshot (scan → wait → list); false lists what the last scan cached.
 *
 * Three CPU figures (user + system, `process.cpuUsage()`), from the widest to the narrowest:
 *   - `processCpuUs`: the whole process from its start, loading node's and our modules included;
 *   - `cpuUs`: the run, after the modules are loaded: set-up (client or pool), the scan, tear-down;
 *   - `scanCpuUs`: the scan alone: `scanSessions` for dcs, the page loop for floor, the whole naive function
 *     (it has nothing to set up).
 * Beside `scanCpuUs`, for dcs and floor, `scanMainCpuUs`: the part of it spent on the main thread, where
 * JavaScript runs (Linux only: `/proc/thread-self/schedstat`); the rest is V8's compiler and collector
 * threads and libuv's.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { PerformanceObserver, constants: perfConstants } = require("node:perf_hooks");
const { Pool } = require("undici");
/* global URL, fetch */

const dist = path.resolve(__dirname, "../dist");
const { scanSessions, createClient } = require(dist);
const { signRequest } = require(path.join(dist, "api/signer"));
const { scanOutputs } = require(path.join(dist, "pulumi/provider"));

const PAGE = 1000;

/** CPU time of the calling thread, in µs, where Linux tells it (nanoseconds in schedstat); else undefined. */
function threadCpuUs() {
  try {
    return Number(fs.readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1000;
  } catch {
    return undefined;
  }
}

/** `threadCpuUs()` since `since`; undefined where it is not told (a kernel without the accounting shows 0). */
function threadCpuSince(since) {
  const now = threadCpuUs();
  if (since === undefined || now === undefined) return undefined;
  return now > since ? now - since : undefined;
}

/**
 * Counts V8's garbage collections from now to `stop()`: full ones (mark-compact, the whole heap, much of it on
 * V8's other threads) and young ones (scavenges), with their time. A full collection every few pages is the
 * sign of memory held outside V8's heap (bodies) with too little allocated on it between them: see
 * docs/performance.md.
 */
function watchCollections() {
  const from = performance.now();
  const seen = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ["gc"] });
  return {
    stop() {
      const to = performance.now();
      seen.push(...observer.takeRecords());
      observer.disconnect();
      const within = seen.filter((e) => e.startTime >= from && e.startTime <= to);
      const full = within.filter((e) => e.detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR);
      const young = within.filter((e) => e.detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR);
      const ms = (entries) => entries.reduce((sum, e) => sum + e.duration, 0);
      return { full: full.length, fullMs: ms(full), young: young.length, youngMs: ms(young) };
    },
  };
}

function credentialsOf(info) {
  return { kind: "aksk", accessKey: info.accessKey, secretKey: info.secretKey };
}

/** Headers of a signed request, as any client of the API must send them. */
function signedHeaders(info, method, url, body) {
  const headers = { host: url.host, "x-project-id": info.projectId, accept: "application/json" };
  if (body) headers["content-type"] = "application/json";
  const signed = signRequest(
    { method, url: url.toString(), headers: { ...headers }, body },
    credentialsOf(info),
    new Date(),
  );
  return { ...headers, ...signed };
}

function clientsPath(info) {
  return `/v2/${info.projectId}/instances/${info.instanceId}/clients`;
}

/** Runs `work` over `items`, `limit` at a time. */
async function eachLimited(items, limit, work) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ---------------------------------------------------------------------------------------------------------
// floor
// ---------------------------------------------------------------------------------------------------------

/** Every page of every node, 4 nodes at a time and up to 4 pages of a node in flight, as the package does. */
async function floor(task) {
  const { info, perNode } = task;
  const base = new URL(info.endpoint);
  const pool = new Pool(base.origin, { connections: 16, keepAliveTimeout: 10_000 });
  let bytes = 0;
  const getPage = async (nodeId, offset) => {
    const url = new URL(
      `${base.origin}${clientsPath(info)}?node_id=${nodeId}&offset=${offset}&limit=${PAGE}`,
    );
    const res = await pool.request({
      path: `${url.pathname}${url.search}`,
      method: "GET",
      headers: signedHeaders(info, "GET", url, ""),
    });
    if (res.statusCode !== 200) throw new Error(`floor: HTTP ${res.statusCode}`);
    for await (const chunk of res.body) bytes += chunk.length;
  };
  const pages = Math.ceil(perNode / PAGE);
  const everyPage = () =>
    eachLimited(info.nodeIds, 4, async (nodeId) => {
      const offsets = Array.from({ length: pages }, (_, i) => i * PAGE);
      await eachLimited(offsets, 4, (offset) => getPage(nodeId, offset));
    });
  let scanCpu;
  let scanMainCpu;
  let scanMs;
  let collections;
  try {
    if (task.again) await everyPage();
    const gc = watchCollections();
    const main0 = threadCpuUs();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await everyPage();
    scanMs = performance.now() - t0;
    scanCpu = process.cpuUsage(cpu0);
    scanMainCpu = threadCpuSince(main0);
    collections = gc.stop();
  } finally {
    await pool.close();
  }
  return {
    sessions: info.nodeIds.length * perNode,
    bytes,
    scanMs,
    scanCpuUs: scanCpu.user + scanCpu.system,
    scanMainCpuUs: scanMainCpu,
    collections,
  };
}

// ---------------------------------------------------------------------------------------------------------
// naive
// ---------------------------------------------------------------------------------------------------------

async function naiveCall(info, method, pathAndQuery, body) {
  const url = new URL(pathAndQuery, info.endpoint);
  const text = body === undefined ? "" : JSON.stringify(body);
  const res = await fetch(url, {
    method,
    headers: signedHeaders(info, method, url, text),
    body: text || undefined,
  });
  const answer = await res.text();
  if (!res.ok) throw new Error(`naive: ${method} ${url.pathname} → ${res.status} ${answer}`);
  return JSON.parse(answer);
}

function top(counts, n = 20) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const out = Object.fromEntries(entries.slice(0, n));
  const rest = entries.slice(n).reduce((sum, [, v]) => sum + v, 0);
  if (rest > 0) out.other = rest;
  return out;
}

function countBy(sessions, key) {
  const counts = {};
  for (const s of sessions) {
    const k = key(s) || "(none)";
    counts[k] = (counts[k] || 0) + 1;
  }
  return top(counts);
}

async function naive(task) {
  const cpu0 = process.cpuUsage();
  const sessions = await naiveSnapshot(task);
  const scanCpu = process.cpuUsage(cpu0);
  return { sessions, scanCpuUs: scanCpu.user + scanCpu.system };
}

/** The naive scan itself (no set-up to leave out): the number of sessions it counted. */
async function naiveSnapshot(task) {
  const { info, rescan } = task;
  const all = [];
  const perNode = {};
  for (const nodeId of info.nodeIds) {
    if (rescan) {
      const { job_id } = await naiveCall(info, "POST", clientsPath(info), {
        node_id: nodeId,
        clean_cache: true,
      });
      for (;;) {
        const job = await naiveCall(info, "GET", `/v2/${info.projectId}/jobs/${job_id}`);
        if (job.status === "SUCCESS") break;
        if (job.status === "FAIL") throw new Error(`naive: job ${job_id} failed`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    perNode[nodeId] = 0;
    for (let offset = 0; ; offset += PAGE) {
      const page = await naiveCall(
        info,
        "GET",
        `${clientsPath(info)}?node_id=${nodeId}&offset=${offset}&limit=${PAGE}`,
      );
      for (const client of page.clients) {
        client.node_id = nodeId;
        all.push(client);
      }
      perNode[nodeId] += page.clients.length;
      if (page.clients.length === 0 || offset + PAGE >= page.count) break;
    }
  }
  const idle = (s) => Number(s.idle) || 0;
  const buckets = { "<1m": 0, "1m-10m": 0, "10m-1h": 0, "1h-24h": 0, ">=24h": 0 };
  for (const s of all) {
    const i = idle(s);
    buckets[i < 60 ? "<1m" : i < 600 ? "1m-10m" : i < 3600 ? "10m-1h" : i < 86400 ? "1h-24h" : ">=24h"]++;
  }
  const snapshot = {
    totalSessions: all.length,
    nodes: perNode,
    byClientIp: countBy(all, (s) => (s.peer || s.addr || "").replace(/:\d+$/, "")),
    byUser: countBy(all, (s) => s.user),
    byDb: countBy(all, (s) => String(s.db)),
    byCommand: countBy(all, (s) => s.cmd),
    byName: countBy(all, (s) => s.name),
    idleBuckets: buckets,
    maxIdleSeconds: all.reduce((m, s) => Math.max(m, idle(s)), 0),
    maxAgeSeconds: all.reduce((m, s) => Math.max(m, Number(s.age) || 0), 0),
    subscribers: all.filter((s) => Number(s.sub) + Number(s.psub) > 0).length,
    topIdle: [...all].sort((a, b) => idle(b) - idle(a)).slice(0, 10),
  };
  return snapshot.totalSessions;
}

// ---------------------------------------------------------------------------------------------------------
// dcs-sessions
// ---------------------------------------------------------------------------------------------------------

async function dcs(task) {
  const { info, rescan } = task;
  const client = createClient({
    endpoint: info.endpoint,
    projectId: info.projectId,
    credentials: credentialsOf(info),
  });
  const started = new Map();
  const noticed = new Map();
  try {
    if (task.again) await scanSessions({ instanceId: info.instanceId, client, topN: 10, rescan });
    const gc = watchCollections();
    const main0 = threadCpuUs();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const snapshot = await scanSessions({
      instanceId: info.instanceId,
      client,
      topN: 10,
      rescan,
      onProgress: (event) => {
        if (event.kind === "scan-started") started.set(event.nodeId, event.jobId);
        if (event.kind === "scan-done") noticed.set(event.nodeId, Date.now());
      },
    });
    const scanMs = performance.now() - t0;
    const scanCpu = process.cpuUsage(cpu0);
    const scanMainCpu = threadCpuSince(main0);
    const collections = gc.stop();
    // Job end → noticed: the emulator's end time of each job against when the scan saw it done.
    const lags = [];
    for (const [nodeId, jobId] of started) {
      const job = await client.dcs.showJob(jobId);
      const end = /^\d+$/.test(job.endTime ?? "") ? Number(job.endTime) : Date.parse(job.endTime ?? "");
      if (Number.isFinite(end) && noticed.has(nodeId)) lags.push(noticed.get(nodeId) - end);
    }
    return {
      sessions: snapshot.totalSessions,
      scanMs,
      scanCpuUs: scanCpu.user + scanCpu.system,
      scanMainCpuUs: scanMainCpu,
      collections,
      outputBytes: Buffer.byteLength(JSON.stringify(snapshot)),
      // What a SessionScan stores besides its inputs: the outputs of DESIGN §5.
      storedBytes: Buffer.byteLength(JSON.stringify(scanOutputs(snapshot))),
      lags,
    };
  } finally {
    await client.close();
  }
}

const VARIANTS = {
  floor,
  naive,
  dcs,
  "dcs-again": (task) => dcs({ ...task, again: true }),
  "floor-again": (task) => floor({ ...task, again: true }),
};

async function main() {
  const task = JSON.parse(process.argv[2]);
  const run = VARIANTS[task.variant];
  if (!run) throw new Error(`unknown variant ${task.variant}`);
  if (global.gc) global.gc();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await run(task);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const total = process.cpuUsage();
  const expected = task.info.nodeIds.length * task.perNode;
  if (result.sessions !== expected)
    throw new Error(`${task.variant} counted ${result.sessions}, expected ${expected}`);
  process.stdout.write(
    `${JSON.stringify({
      ...result,
      ms,
      // The run: the variant's set-up (client, pool), its scan, its tear-down; not the modules loaded above.
      cpuUs: cpu.user + cpu.system,
      // The whole process, from its start: module loading included.
      processCpuUs: total.user + total.system,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    })}\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`bench client failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
