/**
 * `emolab notebooks [NN ...] [--scratch DIR | --in-place]`: execute notebooks headless, in order.
 * At the ci profile (npm test) the executed copies go to a scratch folder, so the committed
 * notebooks (the reference run's outputs) and `git status` stay untouched; at the other profiles
 * the notebooks are executed in place, with machine paths and progress noise removed from outputs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listNotebooks, runNotebooks } from '../report/notebooks';
import { profileName } from '../profile';
import { EmolabError } from '../errors';
import { flagString, parseArgs } from '../args';

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('notebooks', argv, { values: ['scratch'], booleans: ['in-place'] });
  const paths = listNotebooks(a.positionals);
  if (paths.length === 0) throw new EmolabError('cli', `no notebook matches ${a.positionals.join(' ')}`, { hint: `give a number prefix or a file name of: ${listNotebooks().map((p) => p.split('/').pop()).join(', ')}` });
  const profile = profileName();
  const outDir = a.flags['in-place'] ? undefined : flagString(a, 'scratch') ?? (profile === 'ci' ? mkdtempSync(join(tmpdir(), 'emolab-notebooks-ci-')) : undefined);
  console.error(`executing ${paths.length} notebook(s), EMOLAB_PROFILE=${profile}${outDir ? `, executed copies in ${outDir}` : ', in place'}`);
  const t0 = Date.now();
  const runs = runNotebooks(paths, { outDir });
  console.error(`all ${runs.length} notebook(s) ran in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  for (const r of runs) console.error(`  ${r.notebook}: ${r.seconds.toFixed(0)} s`);
  return 0;
}
