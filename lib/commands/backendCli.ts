import { describeBackend, initBackend, parseBackendRequest } from '../backend';
import { describeWorkers } from '../accel/workers';
import { EmolabError } from '../errors';
import { parseArgs } from '../args';

const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/** The closest of `options` by edit distance, when it is close (at most 2 edits). */
function nearest(v: string, options: string[]): string | undefined {
  const d = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]; row[0] = i;
      for (let j = 1; j <= b.length; j++) { const t = row[j]; row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1)); prev = t; }
    }
    return row[b.length];
  };
  const best = options.map((o) => ({ o, k: d(v, o) })).sort((x, y) => x.k - y.k)[0];
  return best && best.k <= 2 ? best.o : undefined;
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('backend', argv);
  const arg = a.positionals[0];
  // A typo in the argument is the argument's fault, not EMOLAB_BACKEND's.
  if (arg !== undefined && !BACKENDS.includes(arg.trim().toLowerCase())) {
    const near = nearest(arg.trim().toLowerCase(), BACKENDS);
    throw new EmolabError('cli', `emolab backend: the backend argument must be one of ${BACKENDS.join(', ')}, got "${arg}"`, near ? { hint: `did you mean: emolab backend ${near}` } : {});
  }
  const report = await initBackend(parseBackendRequest(arg ?? process.env.EMOLAB_BACKEND));
  console.log(`${describeBackend(report)}  ${describeWorkers()}`);
  return 0;
}
