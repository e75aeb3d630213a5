/**
 * Advisory folder locks: one writer per folder (a feature store, a run folder), across processes and hosts.
 *
 *   const lock = acquireLock(dir, { what: 'feature extraction' });  // throws when another live process holds it
 *   try { ... } finally { lock.release(); }
 *   await withLock(dir, { what: 'run', wait: 60_000 }, async () => { ... });  // waits up to 60 s for the holder
 *
 * The lock is a file (`<dir>/.emolab.lock` unless `name` says otherwise) created atomically with the `wx`
 * flag, holding JSON {pid, host, started, what, token}. A lock is stale, and is taken over, when
 * - it was made on this host and its PID is no longer alive (a killed or crashed run), or
 * - it was made on another host (a shared volume) and its heartbeat is older than `staleMs`: the holder
 *   touches the file every `heartbeatMs`, so a live holder elsewhere keeps it fresh.
 * Taking over is itself serialised by a short-lived `<lock>.takeover` file (also `wx`), so two processes
 * that find the same stale lock cannot both win. `release()` removes the file only while it still carries
 * this holder's token; the lock is also released when the process exits normally.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { EmolabError, errorMessage } from '../errors';

export interface LockInfo {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  started: string;
  /** What the holder is doing ("feature extraction", "run"), for the error message. */
  what: string;
  token: string;
}

export interface LockOptions {
  /** What the lock protects, named in errors: "feature extraction of emodb". */
  what: string;
  /** Lock file name inside the folder (default `.emolab.lock`). */
  name?: string;
  /** Wait for a live holder instead of failing: true (forever) or at most this many milliseconds. Default: fail at once. */
  wait?: boolean | number;
  /** Poll interval while waiting (default 200 ms). */
  pollMs?: number;
  /** A lock from another host whose heartbeat is older than this is stale (default 10 min). */
  staleMs?: number;
  /** How often the holder refreshes its heartbeat (default 30 s). */
  heartbeatMs?: number;
}

export interface Lock {
  file: string;
  info: LockInfo;
  /** Remove the lock (only while it is still ours). Idempotent. */
  release(): void;
}

export const DEFAULT_LOCK_NAME = '.emolab.lock';

/** True when a process with this PID exists on this host. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** The holder recorded in a lock file, or undefined when the file is absent; a garbled file reads as {pid: 0}. */
export function readLock(file: string): LockInfo | undefined {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EmolabError('store', `cannot read lock file: ${errorMessage(e)}`, { file });
  }
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    return { pid: Number(v.pid) || 0, host: String(v.host ?? ''), started: String(v.started ?? ''), what: String(v.what ?? ''), token: String(v.token ?? '') };
  } catch {
    return { pid: 0, host: '', started: '', what: '(garbled lock file)', token: '' };
  }
}

/** Whether a recorded holder is gone: same host and dead PID, or another host and no heartbeat for `staleMs`. */
export function lockIsStale(info: LockInfo, file: string, staleMs: number): boolean {
  const age = (): number => { try { return Date.now() - statSync(file).mtimeMs; } catch { return 0; } };
  // An empty or garbled file: a writer between its `wx` open and its write (fresh), or one killed there (old).
  if (info.pid === 0) return age() > 5_000;
  if (info.host === hostname()) return !pidAlive(info.pid);
  return age() > staleMs;
}

const describe = (h: LockInfo): string => `PID ${h.pid} on ${h.host || 'an unknown host'}${h.started ? ` since ${h.started}` : ''}${h.what ? ` (${h.what})` : ''}`;

/** Create `file` with `wx`; false when it exists. */
function createExclusive(file: string, info: LockInfo): boolean {
  let fd: number;
  try { fd = openSync(file, 'wx'); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new EmolabError('store', `cannot create lock file: ${errorMessage(e)}`, { file });
  }
  try { writeSync(fd, Buffer.from(JSON.stringify(info) + '\n', 'utf8')); } finally { closeSync(fd); }
  return true;
}

function unlinkQuiet(file: string): void {
  try { unlinkSync(file); } catch { /* already gone */ }
}

/** Remove a stale lock, serialised by `<file>.takeover` so that only one of several contenders removes it. */
function takeOver(file: string, stale: LockInfo, staleMs: number): boolean {
  const guard = `${file}.takeover`;
  const me: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), what: 'lock takeover', token: randomBytes(8).toString('hex') };
  if (!createExclusive(guard, me)) {
    const g = readLock(guard);
    if (g && lockIsStale(g, guard, Math.min(staleMs, 30_000))) unlinkQuiet(guard); // a contender died mid-takeover
    return false; // someone else is taking over: try again on the next round
  }
  try {
    const now = readLock(file);
    if (now && now.token === stale.token && now.pid === stale.pid) unlinkQuiet(file); // still the same stale holder
    return true;
  } finally {
    unlinkQuiet(guard);
  }
}

const held = new Map<string, LockInfo>();
let exitHookInstalled = false;

function releaseFile(file: string, token: string): void {
  const now = readLock(file);
  if (now && now.token === token) unlinkQuiet(file);
  held.delete(file);
}

/** Take the lock of `dir` (created if missing); throws an EmolabError naming the holder when it is taken. */
export async function acquireLock(dir: string, opts: LockOptions): Promise<Lock> {
  const file = join(resolve(dir), opts.name ?? DEFAULT_LOCK_NAME);
  const staleMs = opts.staleMs ?? 10 * 60_000;
  const pollMs = opts.pollMs ?? 200;
  const deadline = opts.wait === true ? Infinity : typeof opts.wait === 'number' ? Date.now() + opts.wait : -Infinity;
  mkdirSync(resolve(dir), { recursive: true });
  const mine = held.get(file);
  if (mine) throw new EmolabError('store', `${opts.what}: ${dir} is locked by ${describe(mine)}: this process already holds the lock`, { file, hint: 'two jobs of one process on one folder: run them one after the other' });
  const info: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), what: opts.what, token: randomBytes(8).toString('hex') };
  for (;;) {
    if (createExclusive(file, info)) break;
    const holder = readLock(file);
    if (!holder) continue; // released between our open and read
    if (lockIsStale(holder, file, staleMs)) {
      if (!takeOver(file, holder, staleMs)) await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    if (Date.now() >= deadline) {
      throw new EmolabError('store', `${opts.what}: ${dir} is locked by ${describe(holder)}`, {
        file,
        hint: `wait for that process to finish${holder.host === hostname() ? ` (kill ${holder.pid} to stop it)` : ''}; a lock from a dead process is taken over automatically`,
      });
    }
    await new Promise((r) => setTimeout(r, Math.max(1, Math.min(pollMs, deadline - Date.now()))));
  }
  held.set(file, info);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => { for (const [f, i] of held) releaseFile(f, i.token); });
  }
  const beat = setInterval(() => { try { const t = new Date(); utimesSync(file, t, t); } catch { /* removed: release() will notice */ } }, opts.heartbeatMs ?? 30_000);
  beat.unref();
  let released = false;
  return {
    file,
    info,
    release() {
      if (released) return;
      released = true;
      clearInterval(beat);
      releaseFile(file, info.token);
    },
  };
}

/** Run `fn` while holding the lock of `dir`; the lock is released however `fn` ends. */
export async function withLock<T>(dir: string, opts: LockOptions, fn: () => Promise<T> | T): Promise<T> {
  const lock = await acquireLock(dir, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
