/**
 * `emolab doctor [--job start|notebooks|features|pretrain|finetune|report|all] [--corpus <corpus>]`:
 * what each job needs (datasets, models, profile, writable folders, ffmpeg, jupyter, chromium), checked
 * now; every line names the jobs that need it. Exit 1 when a required check of the selected jobs fails.
 */
import { allRequiredOk, formatChecks, jobChecks, JOBS, type JobName } from '../doctor';
import { corpusFlag, flagChoice, parseArgs } from '../args';

export async function run(argv: string[] = []): Promise<number> {
  const a = parseArgs('doctor', argv, { values: ['job', 'corpus'] });
  if (a.flags.help) { console.log(`usage: emolab doctor [--job ${JOBS.join('|')}|all] [--corpus <corpus>]`); return 0; }
  const job = flagChoice(a, 'doctor', 'job', [...JOBS, 'all'] as const, 'all')!;
  const jobs: JobName[] = job === 'all' ? [...JOBS] : [job];
  const { checks, skipped } = await jobChecks(jobs, { corpus: corpusFlag(a, 'doctor') });
  console.log(`checks for: ${jobs.join(', ')}`);
  console.log(formatChecks(checks));
  for (const s of skipped) console.log(`\nthe main job will skip ${s}`);
  return allRequiredOk(checks) ? 0 : 1;
}
