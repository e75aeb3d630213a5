/**
 * Progress for long work, in the terminal and in notebooks: items done / total, items per second,
 * elapsed and ETA. On a TTY it redraws one line; elsewhere (notebooks, CI logs) it prints a line at
 * most every `everyMs` and at the end, so logs stay short.
 */
export interface ProgressOptions {
  /** What is counted: "clips", "frames", "steps". */
  unit?: string;
  /** Minimum time between two printed lines when not on a TTY. */
  everyMs?: number;
  /** Where to write; default process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Silence it (tests). */
  quiet?: boolean;
}

export interface Progress {
  tick(n?: number, note?: string): void;
  done(note?: string): void;
  readonly count: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** The status line for `done` of `total` after `elapsedS` seconds. Pure; exported for tests. */
export function progressLine(label: string, done: number, total: number, elapsedS: number, unit = 'items', note = ''): string {
  const rate = elapsedS > 0 ? done / elapsedS : 0;
  const pct = total > 0 ? (100 * done) / total : 100;
  const eta = rate > 0 ? (total - done) / rate : Infinity;
  const width = 20;
  const filled = Math.round((width * Math.min(done, total)) / Math.max(total, 1));
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
  const rateStr = rate >= 10 ? rate.toFixed(0) : rate.toFixed(2);
  return `${label} [${bar}] ${done}/${total} (${pct.toFixed(0)}%) ${rateStr} ${unit}/s elapsed ${formatDuration(elapsedS)} ETA ${done >= total ? '0s' : formatDuration(eta)}${note ? '  ' + note : ''}`;
}

export function progress(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY);
  const every = opts.everyMs ?? 5000;
  const start = Date.now();
  let count = 0;
  let last = 0;
  const write = (final: boolean, note = '') => {
    if (opts.quiet) return;
    const line = progressLine(label, count, total, (Date.now() - start) / 1000, opts.unit, note);
    if (tty) stream.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
    else stream.write(line + '\n');
  };
  return {
    get count() { return count; },
    tick(n = 1, note = '') {
      count += n;
      const now = Date.now();
      if (tty ? now - last > 100 : now - last >= every) { last = now; write(false, note); }
    },
    done(note = '') { write(true, note); },
  };
}
