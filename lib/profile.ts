/**
 * The run profile: `EMOLAB_PROFILE=ci|full` (default `full`), read here and nowhere else.
 * `ci` makes every notebook and `npm start` finish in minutes on 2 cores (few clips, few steps);
 * `full` is the real experiment. Stages ask for their sizes through `pick()` so both scales are
 * visible side by side in the code.
 */
import { EmolabError } from './errors';

export type ProfileName = 'ci' | 'full';

export function profileName(env: NodeJS.ProcessEnv = process.env): ProfileName {
  const raw = (env.EMOLAB_PROFILE ?? 'full').trim().toLowerCase();
  if (raw === 'ci' || raw === 'full') return raw;
  throw new EmolabError('setup', `EMOLAB_PROFILE must be "ci" or "full", got "${env.EMOLAB_PROFILE}"`);
}

/** Choose a value by profile: `pick({ ci: 2, full: 40 })`. */
export function pick<T>(values: { ci: T; full: T }, env: NodeJS.ProcessEnv = process.env): T {
  return values[profileName(env)];
}

export const isCI = (env: NodeJS.ProcessEnv = process.env): boolean => profileName(env) === 'ci';
