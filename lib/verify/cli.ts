/**
 * `emolab verify runs/<name> [more...] [--json]`: re-hash a run's outputs against the SHA-256 and
 * sizes recorded in its run.json; given a feature store folder instead (runs/features/<corpus>), check
 * every shard against the store's index. Exit status 0 when everything matches, 1 otherwise.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from '../args';
import { EmolabError } from '../errors';
import { formatVerifyReport, verifyRun } from './hashes';
import { formatStoreReport, isFeatureStore, verifyFeatureStore } from './store';

const USAGE = 'usage: emolab verify <run folder, run.json or feature store folder> [...] [--json]';

/** One checked path: its report, whether it passed, and its text form. */
function check(path: string): { ok: boolean; report: unknown; text: string } {
  if (!existsSync(join(path, 'run.json')) && isFeatureStore(path)) {
    const r = verifyFeatureStore(path);
    return { ok: r.ok, report: r, text: formatStoreReport(r) };
  }
  const r = verifyRun(path);
  return { ok: r.ok, report: r, text: formatVerifyReport(r) };
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('verify', argv, { booleans: ['json'] });
  if (a.flags.help) { console.log(USAGE); return 0; }
  if (a.positionals.length === 0) throw new EmolabError('cli', 'emolab verify: name a run folder, e.g. runs/pretrain-energy', { hint: USAGE });
  const checks = a.positionals.map(check);
  if (a.flags.json) console.log(JSON.stringify(checks.map((c) => c.report), null, 2));
  else for (const c of checks) console.log(c.text);
  return checks.every((c) => c.ok) ? 0 : 1;
}
