/**
 * `npm start`: check prerequisites, then run the main job (lib/pipeline.ts) with the settings of
 * EMOLAB_PROFILE (default cpu). Exits 0 when every model trained, 1 when prerequisites are missing
 * or any model failed (the summary says which).
 */
import { allRequiredOk, formatChecks, jobChecks, type DoctorOptions } from '../doctor';

/** What the main job reads. */
export const MAIN_JOB_NEEDS: DoctorOptions = {
  datasets: [
    { folder: 'emodb', required: ['wav', 'labels.csv'], fetch: 'npx emolab data fetch emodb' },
  ],
  models: [],
};

export async function run(): Promise<number> {
  // The pre-flight is `emolab doctor --job start`: what the main job needs, and the tasks it will skip.
  const { checks, skipped } = await jobChecks(['start']);
  console.log(formatChecks(checks));
  if (!allRequiredOk(checks)) {
    console.error('\nemolab start: prerequisites missing (see MISSING above); nothing was run.');
    return 1;
  }
  for (const s of skipped) console.log(`\nthe main job will skip ${s}; the baseline, task 1 and the functionals reference go on.`);
  const { runMainJob } = await import('../pipeline');
  const { goncalves2022Settings } = await import('../experiments/goncalves2022');
  const r = await runMainJob(goncalves2022Settings());
  return r.failures.length ? 1 : 0;
}
