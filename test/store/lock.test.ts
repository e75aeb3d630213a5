import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../lib/paths';
import { EmolabError } from '../../lib/errors';
import { acquireLock, DEFAULT_LOCK_NAME, lockIsStale, pidAlive, readLock, withLock } from '../../lib/store/lock';

const tmp = mkdtempSync(join(tmpdir(), 'emolab-lock-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(tmp, `d${n++}`);

/** Start the lock child; resolves once it printed its first line. */
function child(args: string[]): { proc: ChildProcess; first: Promise<string>; done: Promise<{ out: string; code: number | null }> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'store', 'lockChild.ts'), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let firstResolve: (s: string) => void;
  const first = new Promise<string>((r) => { firstResolve = r; });
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) firstResolve(out.split('\n')[0]); });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const done = new Promise<{ out: string; code: number | null }>((r) => proc.on('close', (code) => { firstResolve(out.split('\n')[0] || `EXIT ${code} ${err}`); r({ out, code }); }));
  return { proc, first, done };
}

test('lock: file created with pid, host, start time and what; released by release() and withLock', async () => {
  const dir = freshDir();
  const lock = await acquireLock(dir, { what: 'unit test' });
  const info = readLock(join(dir, DEFAULT_LOCK_NAME))!;
  assert.equal(info.pid, process.pid);
  assert.equal(info.host, hostname());
  assert.equal(info.what, 'unit test');
  assert.ok(!Number.isNaN(Date.parse(info.started)));
  await assert.rejects(acquireLock(dir, { what: 'again' }), /already holds the lock/);
  lock.release();
  lock.release(); // idempotent
  assert.ok(!existsSync(lock.file));
  const v = await withLock(dir, { what: 'x' }, () => { assert.ok(existsSync(lock.file)); return 7; });
  assert.equal(v, 7);
  assert.ok(!existsSync(lock.file));
  await assert.rejects(withLock(dir, { what: 'x' }, () => { throw new Error('boom'); }), /boom/);
  assert.ok(!existsSync(lock.file), 'released when fn throws');
});

test('lock: a second live process is refused with the holder PID; with wait it gets the lock after the release', async () => {
  const dir = freshDir();
  const releaseFile = join(tmp, `release-${n}`);
  const holder = child([dir, `until:${releaseFile}`]);
  const line = await holder.first;
  const pid = Number(/LOCKED (\d+)/.exec(line)?.[1]);
  assert.ok(pid > 0, line);
  await assert.rejects(acquireLock(dir, { what: 'feature extraction' }), (e: unknown) => e instanceof EmolabError && e.message.includes(`locked by PID ${pid} on ${hostname()}`) && e.message.includes('lock test child') && e.message.startsWith('emolab store'));
  // another child refused the same way
  const second = await child([dir, '0']).done;
  assert.equal(second.code, 3);
  assert.match(second.out, new RegExp(`REFUSED .*PID ${pid}`));
  // waiting: acquired once the holder releases
  const waiting = acquireLock(dir, { what: 'waiter', wait: 20_000, pollMs: 50 });
  writeFileSync(releaseFile, '');
  const lock = await waiting;
  assert.ok((await holder.done).out.includes('RELEASED'));
  assert.equal(readLock(lock.file)!.pid, process.pid);
  lock.release();
  // a bounded wait that runs out names the holder
  const h2 = child([dir, '3000']);
  await h2.first;
  await assert.rejects(acquireLock(dir, { what: 'w', wait: 100, pollMs: 20 }), /locked by PID/);
  h2.proc.kill('SIGKILL');
  await h2.done;
});

test('lock: a lock left by a SIGKILLed process is detected as stale and taken over', async () => {
  const dir = freshDir();
  const c = child([dir, '60000']);
  const pid = Number(/LOCKED (\d+)/.exec(await c.first)?.[1]);
  c.proc.kill('SIGKILL');
  await c.done;
  assert.equal(pidAlive(pid), false);
  const file = join(dir, DEFAULT_LOCK_NAME);
  assert.equal(readLock(file)!.pid, pid, 'the dead holder left its lock');
  const lock = await acquireLock(dir, { what: 'takeover' });
  assert.equal(readLock(file)!.pid, process.pid);
  assert.ok(!existsSync(`${file}.takeover`));
  lock.release();
});

test('lock: staleness rules for other hosts (heartbeat age) and garbled files', () => {
  const dir = freshDir();
  const file = join(dir, 'l');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, JSON.stringify({ pid: 1, host: 'elsewhere', started: 'x', what: 'y', token: 't' }));
  const info = readLock(file)!;
  assert.equal(lockIsStale(info, file, 60_000), false, 'fresh heartbeat from another host: live');
  const old = new Date(Date.now() - 120_000);
  utimesSync(file, old, old);
  assert.equal(lockIsStale(info, file, 60_000), true, 'old heartbeat from another host: stale');
  writeFileSync(file, '');
  assert.equal(readLock(file)!.pid, 0);
  assert.equal(lockIsStale(readLock(file)!, file, 60_000), false, 'an empty file may be a writer between open and write');
  utimesSync(file, old, old);
  assert.equal(lockIsStale(readLock(file)!, file, 60_000), true);
  assert.equal(lockIsStale({ pid: process.pid, host: hostname(), started: '', what: '', token: '' }, file, 0), false, 'this live process');
  assert.equal(readFileSync(file, 'utf8'), '');
});

test('lock: a live holder on another host keeps its lock fresh by heartbeat', async () => {
  const dir = freshDir();
  const lock = await acquireLock(dir, { what: 'beat', heartbeatMs: 20 });
  const old = new Date(Date.now() - 120_000);
  utimesSync(lock.file, old, old);
  await new Promise((r) => setTimeout(r, 150));
  assert.ok(Date.now() - statSync(lock.file).mtimeMs < 60_000, 'heartbeat refreshed the mtime');
  lock.release();
});
