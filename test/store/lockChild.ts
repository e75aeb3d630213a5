/**
 * Child process for the lock tests: takes the lock of a folder, prints "LOCKED <pid>", holds it for
 * <hold> (milliseconds, or `until:<file>`: until that file exists, so a test does not depend on how fast a
 * loaded machine starts the next process), or until killed, then releases it and prints "RELEASED".
 * With <waitMs> > 0 it waits for a holder.
 * usage: tsx test/store/lockChild.ts <dir> <hold> [waitMs]
 */
import { existsSync } from 'node:fs';
import { acquireLock } from '../../lib/store/lock';

const [dir, holdMs, waitMs] = process.argv.slice(2);
try {
  const lock = await acquireLock(dir, { what: 'lock test child', wait: Number(waitMs ?? 0) || undefined, pollMs: 50 });
  process.stdout.write(`LOCKED ${process.pid}\n`);
  if (holdMs.startsWith('until:')) {
    const file = holdMs.slice('until:'.length);
    while (!existsSync(file)) await new Promise((r) => setTimeout(r, 20));
  } else {
    await new Promise((r) => setTimeout(r, Number(holdMs)));
  }
  lock.release();
  process.stdout.write('RELEASED\n');
} catch (e) {
  process.stdout.write(`REFUSED ${(e as Error).message}\n`);
  process.exitCode = 3;
}
