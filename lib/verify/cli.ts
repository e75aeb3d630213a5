/**
 * `emolab verify runs/<name> [more runs...] [--json]`: re-hash a run's outputs against the SHA-256
 * and sizes recorded in its run.json. Exit status 0 when every output matches, 1 otherwise.
 */
import { parseArgs } from '../cli/args';
import { EmolabError } from '../errors';
import { formatVerifyReport, verifyRun } from './hashes';

const USAGE = 'usage: emolab verify <run folder or run.json> [...] [--json]';

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('verify', argv, { booleans: ['json'] });
  if (a.flags.help) { console.log(USAGE); return 0; }
  if (a.positionals.length === 0) throw new EmolabError('cli', 'emolab verify: name a run folder, e.g. runs/pretrain-energy', { hint: USAGE });
  const reports = a.positionals.map((p) => verifyRun(p));
  if (a.flags.json) console.log(JSON.stringify(reports, null, 2));
  else for (const r of reports) console.log(formatVerifyReport(r));
  return reports.every((r) => r.ok) ? 0 : 1;
}
