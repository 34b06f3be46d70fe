/**
 * undici's `Pool`, loaded without the rest of undici. `require("undici")` loads 110 modules (fetch, WebSocket,
 * cookies, caches, mocks, EventSource…) to give the one class the client uses: about 80 ms of CPU in every
 * process that sends a request, against about 28 ms for the pool and its `request()` method alone.
 *
 * undici has no `exports` map, so its files can be required by path; `index.js` gives a dispatcher its
 * `request()` by copying `lib/api` onto `Dispatcher.prototype`, and so does this (the same assignment, made
 * once; undici's own index makes it again if something else loads it). Should a later undici move those files,
 * or give a pool no `request()`, the whole package is loaded as before.
 */
import type { Pool } from "undici";

type PoolClass = typeof Pool;

let loaded: PoolClass | undefined;

/** The pool's class and its `request()`, from undici's own files; undefined when they are not where expected. */
function fromUndiciFiles(): PoolClass | undefined {
  try {
    const dispatcher = require("undici/lib/dispatcher/dispatcher") as { prototype: Record<string, unknown> };
    if (typeof dispatcher.prototype.request !== "function") {
      Object.assign(dispatcher.prototype, require("undici/lib/api") as Record<string, unknown>);
    }
    const pool = require("undici/lib/dispatcher/pool") as unknown;
    if (typeof pool !== "function") return undefined;
    const proto = (pool as { prototype: Record<string, unknown> }).prototype;
    return typeof proto.request === "function" ? (pool as PoolClass) : undefined;
  } catch {
    return undefined;
  }
}

/** undici's `Pool` class, loaded at the first call (a process that only validates never loads it). */
export function undiciPool(): PoolClass {
  loaded ??= fromUndiciFiles() ?? (require("undici") as typeof import("undici")).Pool;
  return loaded;
}
