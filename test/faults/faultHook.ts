/**
 * Fault injection preloaded into a child process (`node --import tsx --import ./faultHook.ts ...`).
 * It wraps `fs.renameSync` — the commit point of every atomic write in lib/store/atomic.ts — and, on
 * the Nth rename whose target contains EMOLAB_FAULT_PAUSE, prints `FAULT-PAUSE <target>` on stderr and
 * blocks, so the parent can SIGKILL the process at an exact, hostile moment: with the temp file
 * written but not yet renamed (EMOLAB_FAULT_WHEN=before, default) or just after the rename (after).
 * The ESM bindings of node:fs are updated with syncBuiltinESMExports, so lib code importing
 * `{ renameSync } from 'node:fs'` sees the wrapper.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const target = process.env.EMOLAB_FAULT_PAUSE;
const nth = Number(process.env.EMOLAB_FAULT_NTH ?? '1');
const when = process.env.EMOLAB_FAULT_WHEN === 'after' ? 'after' : 'before';

if (target) {
  const realRename = fs.renameSync;
  let seen = 0;
  const pause = (dst: string): void => {
    fs.writeSync(2, `FAULT-PAUSE ${dst}\n`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000); // the parent kills us here
  };
  fs.renameSync = ((src: fs.PathLike, dst: fs.PathLike): void => {
    const hit = String(dst).includes(target) && ++seen === nth;
    if (hit && when === 'before') pause(String(dst));
    realRename(src, dst);
    if (hit && when === 'after') pause(String(dst));
  }) as typeof fs.renameSync;
  syncBuiltinESMExports();
}
