/**
 * The complete pretrain() settings of the fault tests (shared by the parent test and ./child.ts, so both
 * compute the same configuration fingerprint and a killed child's run can be resumed in the parent):
 * the ci profile's energy settings on a folder corpus, tiny encoder, 3 epochs of batch 4, features
 * computed from the WAVs (no feature store).
 */
import { goncalves2022Settings, pretrainSettingsFor } from '../../lib/experiments/goncalves2022';
import type { PretrainSettings } from '../../lib/train/pretrainRun';

export function faultPretrainSettings(data: string, out: string, seed: number): PretrainSettings {
  const base = pretrainSettingsFor(goncalves2022Settings('ci'), 'energy', { root: out });
  return {
    ...base, data, out, seed, maxClips: null, featureStore: null, labelsDir: null,
    budget: { ...base.budget, epochs: 3, batchSize: 4, maxFrames: 200, patience: 0, checkpointEverySteps: null },
  };
}
