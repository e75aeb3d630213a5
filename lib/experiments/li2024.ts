/**
 * Every setting of the Li et al. (ICASSP 2024) reproduction (HFLEA: frame-level emotional state
 * alignment), one typed object per profile; notebook 09 overrides it in its parameters cell
 * through `li2024Settings(profile, over)`, and what ran is written beside the result table.
 *
 * Stage (1), TAPT (lib/align/tapt), is sized per profile: ci 12 updates, cpu 600, paper 20,000 (HFLEA's).
 *
 *   ci    tiny HuBERT from scratch, a few clips per class, one fold, 3 epochs per stage (smoke test).
 *   cpu   tiny HuBERT from scratch on every EmoDB clip of the four classes of fold 1, 6 epochs per
 *         step (the default; 5 folds did not finish within 30 minutes on a shared 2-core machine).
 *         HuBERT-base does not train on the 4 GiB wasm heap (bench/NOTES.md), so the CPU profile
 *         shows the method, not the paper's numbers.
 *   paper facebook/hubert-base-ls960 with HFLEA's settings, 5 folds — for a GPU. Without the
 *         checkpoint (npx emolab models fetch hubert-base-ls960) it is refused before any work.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HfleaSettings } from '../align/experiment';
import type { HfleaConfig } from '../align/hflea';
import { hfleaBaseDefaults, hfleaTinyDefaults } from '../align/hflea';
import { EmolabError } from '../errors';
import { HUBERT_BASE } from '../fetch/models';
import { hubertBaseDir } from '../models/hubertFetch';
import { profileName, type ProfileName } from '../profile';

export type Li2024Settings = HfleaSettings & { paper: 'li2024'; profile: ProfileName };

/** Folder of the base checkpoint when all its files are there (see lib/models/hubertFetch). */
export function baseCheckpointDir(): string | undefined {
  const dir = hubertBaseDir();
  return HUBERT_BASE.files.every((f) => existsSync(join(dir, f))) ? dir : undefined;
}

const withEpochs = (c: HfleaConfig, epochs: number, cropSeconds?: number): HfleaConfig => ({
  ...c,
  finetune: { ...c.finetune, epochs, ...(cropSeconds ? { cropSeconds } : {}) },
  pretrain: { ...c.pretrain, epochs, ...(cropSeconds ? { cropSeconds } : {}) },
  finetuneAttention: { ...c.finetuneAttention, epochs, ...(cropSeconds ? { cropSeconds } : {}) },
});

export function li2024Profile(profile: ProfileName): Li2024Settings {
  if (profile === 'ci') {
    const base = withEpochs(hfleaTinyDefaults(), 3, 1);
    return {
      paper: 'li2024', profile, model: 'tiny', checkpointDir: null,
      // TAPT: 12 updates on 1 s crops, checkpoint every 6 (the resume path runs in CI too)
      config: { ...base, tapt: { ...base.tapt!, steps: 12, checkpointEvery: 6, cropSeconds: 1 }, maxEvalSeconds: 3 },
      perClass: { train: 4, dev: 2, test: 3 }, folds: 1,
    };
  }
  if (profile === 'cpu') {
    // One fold: five folds at 6 epochs per step did not finish in 30 min of a shared 2-core machine.
    // Stage (1) TAPT: 600 updates of batch 8 x 1.5 s crops (~23 passes over fold 1's 207 training
    // clips). Measured here (wasm, one thread, both cores busy with other work): 0.54 s per update,
    // plus ~23 s for the layer-3 embeddings and k-means (k = 50, 28k frames): about 6 minutes, inside
    // the ~10 minutes on one core this stage may take at the cpu profile; 20k updates (HFLEA) would
    // take 3 hours. The other stages' settings are unchanged.
    const c = withEpochs(hfleaTinyDefaults(), 6);
    return { paper: 'li2024', profile, model: 'tiny', checkpointDir: null, config: { ...c, tapt: { ...c.tapt!, steps: 600, checkpointEvery: 100 } }, perClass: { train: null, dev: null, test: null }, folds: 1 };
  }
  return { paper: 'li2024', profile, model: 'base', checkpointDir: hubertBaseDir(), config: hfleaBaseDefaults(), perClass: { train: null, dev: null, test: null }, folds: 5 };
}

/** The resolved settings (profile default EMOLAB_PROFILE) with `over` on top; refuses what cannot run. */
export function li2024Settings(profile: ProfileName = profileName(), over: Partial<Li2024Settings> = {}): Li2024Settings {
  const s: Li2024Settings = { ...li2024Profile(profile), ...over };
  if (!Number.isInteger(s.folds) || s.folds < 1 || s.folds > 5) throw new EmolabError('settings', `li2024 folds must be 1..5, got ${s.folds}`);
  if (s.model === 'base' && !(s.checkpointDir && HUBERT_BASE.files.every((f) => existsSync(join(s.checkpointDir!, f))))) {
    throw new EmolabError('settings', `the ${s.profile} profile of Li et al. needs the HuBERT-base checkpoint`, {
      file: s.checkpointDir ?? hubertBaseDir(), hint: 'run: npx emolab models fetch hubert-base-ls960 (with internet), or use EMOLAB_PROFILE=cpu (tiny HuBERT from scratch)',
    });
  }
  for (const [k, v] of Object.entries(s.perClass)) if (v !== null && !(Number.isInteger(v) && v > 0)) throw new EmolabError('settings', `li2024 perClass.${k} must be a positive integer or null, got ${v}`);
  return s;
}
