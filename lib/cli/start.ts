/**
 * `npm start`: check prerequisites, then run the main job on the default dataset.
 * The job's steps are listed in lib/pipeline.ts.
 */
import { allRequiredOk, formatChecks, runChecks, type DoctorOptions } from '../doctor';

/** What the main job reads. */
export const MAIN_JOB_NEEDS: DoctorOptions = {
  datasets: [
    { folder: 'emodb', required: ['wav', 'labels.csv'], fetch: 'npx emolab data fetch emodb' },
  ],
  models: [],
};

export async function run(): Promise<number> {
  const checks = runChecks(MAIN_JOB_NEEDS);
  console.log(formatChecks(checks));
  if (!allRequiredOk(checks)) {
    console.error('\nemolab start: prerequisites missing (see MISSING above); nothing was run.');
    return 1;
  }
  const { runMainJob } = await import('../pipeline');
  await runMainJob();
  return 0;
}
