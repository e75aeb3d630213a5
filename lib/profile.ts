/**
 * The run profile: `EMOLAB_PROFILE=ci|cpu|paper` (default `cpu`), read here and nowhere else.
 *
 * - `ci`: the smoke test — every notebook and `npm start` in minutes on 2 cores (few clips, few
 *   steps; its numbers sit at chance and say nothing about the papers).
 * - `cpu`: the default — the complete EmoDB experiment sized for a 2-core, 24 GiB machine (all arms,
 *   5 folds x 3 seeds), measured to finish within the README's budget.
 * - `paper`: the papers' sizes (the `base` encoder, 60 pretraining epochs, HuBERT-base) — for a GPU
 *   machine; on the wasm backend its memory check refuses it before any work starts.
 *
 * A profile only selects one of the typed settings objects in lib/experiments/ (one module per
 * paper); stage code never asks for the profile.
 */
import { EmolabError } from './errors';

export const PROFILES = ['ci', 'cpu', 'paper'] as const;
export type ProfileName = (typeof PROFILES)[number];
export const DEFAULT_PROFILE: ProfileName = 'cpu';

export function parseProfile(raw: string, where = 'EMOLAB_PROFILE'): ProfileName {
  const v = raw.trim().toLowerCase();
  if ((PROFILES as readonly string[]).includes(v)) return v as ProfileName;
  if (v === 'full') {
    throw new EmolabError('setup', `${where}=full was renamed: use "paper" (GPU-sized, the papers' settings) or "cpu" (the default, sized for a 2-core machine)`);
  }
  throw new EmolabError('setup', `${where} must be one of ${PROFILES.join(', ')}, got "${raw}"`);
}

export function profileName(env: NodeJS.ProcessEnv = process.env): ProfileName {
  const raw = env.EMOLAB_PROFILE;
  return raw === undefined || raw.trim() === '' ? DEFAULT_PROFILE : parseProfile(raw);
}
