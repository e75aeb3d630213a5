import { listNotebooks, runNotebooks } from '../report/notebooks';
import { profileName } from '../profile';
import { parseArgs } from './args';

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('notebooks', argv);
  const paths = listNotebooks(a.positionals);
  if (paths.length === 0) throw new Error(`no notebook matches ${a.positionals.join(' ')}`);
  console.error(`executing ${paths.length} notebook(s), EMOLAB_PROFILE=${profileName()}`);
  const t0 = Date.now();
  const runs = runNotebooks(paths);
  console.error(`all ${runs.length} notebook(s) ran in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return 0;
}
