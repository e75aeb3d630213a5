import { allRequiredOk, formatChecks, runChecks } from '../doctor';
import { MAIN_JOB_NEEDS } from './start';

export async function run(): Promise<number> {
  const checks = runChecks({ ...MAIN_JOB_NEEDS, notebooks: true });
  console.log(formatChecks(checks));
  return allRequiredOk(checks) ? 0 : 1;
}
