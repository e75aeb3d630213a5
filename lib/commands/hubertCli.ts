/**
 * `emolab hubert <model-dir> <in.f32|in.wav|any audio> --out <file.safetensors>`: run HubertModel on
 * one signal and write `extract_features`, `hidden_states.0..N` and `last_hidden_state` as [T, C]
 * float32 tensors (the layout of fixtures/hubert_tiny/outputs.safetensors), so parity with
 * transformers can be checked from outside. `.f32` is raw little-endian float32 at 16 kHz; other
 * files are decoded to 16 kHz mono. The signal is fed as-is unless `--normalize` (zero mean, unit
 * variance, as Wav2Vec2FeatureExtractor(do_normalize=True)).
 *
 * `emolab hubert fetch [--force]` downloads facebook/hubert-base-ls960 (config.json + model.safetensors)
 * into $EMOLAB_MODELS/hubert-base-ls960/ (lib/models/hubertFetch).
 *
 * `emolab hubert tapt [--fold N] [--steps N] [--layer L] [--k K]`: HFLEA's stage (1), task-adaptive
 * pretraining, on EmoDB fold N's training speakers (settings: lib/experiments/li2024 at EMOLAB_PROFILE;
 * flags override), resumable in runs/hflea/<experiment>/<fold>/tapt/ — the folder notebook 09 reuses.
 * `emolab hubert hflea [--folds N]`: all five stages (lib/align/experiment runHfleaEmodb), each
 * checkpointed in runs/hflea/<experiment>/<fold>/: rerun after a kill to resume; `emolab verify` that folder.
 */
import { describeBackend, initBackend, tf } from '../backend';
import { decodeAudio } from '../audio/decode';
import { parseArgs, flagInt, flagString } from '../args';
import { EmolabError } from '../errors';
import { writeSafetensors } from '../store/safetensors';
import { HUBERT_BASE } from '../fetch/models';
import { fetchHubertBase } from '../models/hubertFetch';
import { disposeHubert, disposeHubertOutput, hubertForward, loadHubert, normalizeSignal } from '../models/hubert';

export const HUBERT_USAGE = [
  'emolab hubert <model-dir> <in.f32|wav> --out <file.safetensors> [--weights model.safetensors] [--normalize]',
  '  run HuBERT on one signal and write extract_features, hidden_states.0..N, last_hidden_state',
  'emolab hubert fetch [--force]            hubert-base-ls960 into $EMOLAB_MODELS',
  'emolab hubert tapt [--fold N] [--steps N] [--layer L] [--k K]',
  '  HFLEA stage (1), task-adaptive pretraining: masked prediction on k-means targets from layer L of the',
  '  model at hand, on EmoDB fold N\'s training speakers (lib/experiments/li2024 at EMOLAB_PROFILE); resumable',
  'emolab hubert hflea [--folds N]          HFLEA stages (1)-(5) on EmoDB (what notebook 09 runs); resumes after a kill',
].join('\n');

async function hfleaCommand(kind: 'tapt' | 'hflea', a: ReturnType<typeof parseArgs>): Promise<number> {
  const { li2024Settings } = await import('../experiments/li2024');
  const { runHfleaEmodb, hfleaExperimentName, hfleaFoldDir } = await import('../align/experiment');
  const s0 = li2024Settings();
  const tapt0 = s0.config.tapt;
  if (!tapt0) throw new EmolabError('settings', `the ${s0.profile} settings of Li et al. have no TAPT stage (config.tapt is null)`);
  const tapt = { ...tapt0, steps: flagInt(a, 'hubert', 'steps', { min: 1 }, tapt0.steps)!, layer: flagInt(a, 'hubert', 'layer', { min: 0 }, tapt0.layer)!, k: flagInt(a, 'hubert', 'k', { min: 2 }, tapt0.k)! };
  const folds = flagInt(a, 'hubert', 'folds', { min: 1, max: 5 }, s0.folds)!;
  const settings = li2024Settings(undefined, { config: { ...s0.config, tapt }, folds });
  const report = await initBackend();
  console.log(`${describeBackend(report)}  profile=${settings.profile}  experiment=${hfleaExperimentName(settings)}`);
  if (kind === 'hflea') {
    const ex = await runHfleaEmodb(settings);
    console.log(`\n${ex.markdown}\ntables: ${ex.files.csv}\n        ${ex.files.markdown}`);
    return 0;
  }
  const fold = flagInt(a, 'hubert', 'fold', { min: 1, max: 5 }, 1)!;
  const [{ emodbFolds, emodbManifest }, { loadAlignData, FOUR_CLASSES }, { runTapt }, { initHubert, loadHubert }, { hubertTinyConfig }, { join }] = await Promise.all([
    import('../data/emodb'), import('../align/data'), import('../align/tapt'), import('../models/hubert'), import('../models/hubertConfig'), import('node:path'),
  ]);
  const manifest = emodbManifest(undefined, { boredom: 'drop' });
  const split = emodbFolds(manifest)[fold - 1];
  const data = await loadAlignData(manifest, split, { classes: FOUR_CLASSES, perClass: { train: settings.perClass.train ?? undefined, dev: settings.perClass.dev ?? undefined, test: settings.perClass.test ?? undefined }, normalize: settings.model === 'tiny', seed: settings.config.seed });
  const enc = settings.model === 'base' ? loadHubert(settings.checkpointDir!) : initHubert(hubertTinyConfig(), settings.config.seed);
  const source = settings.model === 'base' ? `base:${settings.checkpointDir}` : `tiny-init-seed${settings.config.seed}`;
  const dir = join(hfleaFoldDir(hfleaExperimentName(settings), split.name), 'tapt');
  const r = await runTapt(enc, data.train, tapt, { dir, source, maxEvalSeconds: settings.config.maxEvalSeconds });
  const mean = (xs: number[]): number => xs.reduce((p, q) => p + q, 0) / Math.max(1, xs.length);
  const n = Math.min(20, r.losses.length);
  console.log([
    `TAPT on ${split.name}: ${data.train.length} training clips (speakers ${[...new Set(data.train.map((c) => c.speaker))].join(' ')}); test speakers not used`,
    `targets: k-means k=${r.targets.k} on hidden_states[${r.targets.layer}] of the starting model, ${r.targets.frames} frames`,
    `${r.steps} updates${r.resumedFrom === r.steps && r.seconds === 0 ? ' (a finished run, loaded)' : r.resumedFrom ? ` (continued from ${r.resumedFrom})` : ''}, ${r.seconds.toFixed(0)} s this call; masked fraction ${(100 * r.maskedFraction).toFixed(0)}%`,
    `loss: first ${n} ${mean(r.losses.slice(0, n)).toFixed(3)} -> last ${n} ${mean(r.losses.slice(-n)).toFixed(3)}; masked-frame accuracy last ${n} ${mean(r.maskedAccuracy.slice(-n)).toFixed(3)} (chance ${(1 / r.targets.k).toFixed(3)})`,
    `-> ${dir}`,
  ].join('\n'));
  disposeHubert(enc);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('hubert', argv, { values: ['out', 'weights', 'fold', 'folds', 'steps', 'layer', 'k'], booleans: ['normalize', 'force'] });
  if (a.flags.help) { console.log(HUBERT_USAGE); return 0; }
  if (a.positionals[0] === 'tapt' || a.positionals[0] === 'hflea') return hfleaCommand(a.positionals[0], a);
  if (a.positionals[0] === 'fetch') {
    const r = await fetchHubertBase({ force: Boolean(a.flags.force) });
    console.log(`${r.status === 'present' ? 'present ' : 'fetched '} ${HUBERT_BASE.name} -> ${r.dir} (config and weights validated)`);
    return 0;
  }
  const [dir, input] = a.positionals;
  const out = flagString(a, 'out');
  if (!dir || !input || !out) throw new EmolabError('cli', `usage:\n${HUBERT_USAGE}`);
  const report = await initBackend();
  let signal = await decodeAudio(input);
  if (a.flags.normalize) signal = normalizeSignal(signal);
  const model = loadHubert(dir, flagString(a, 'weights', 'model.safetensors'));
  const t0 = performance.now();
  const x = tf.tensor2d(signal, [1, signal.length]);
  const o = hubertForward(model, x, { outputHiddenStates: true });
  const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
  const put = (name: string, t: tf.Tensor3D) => { tensors[name] = { data: t.dataSync() as Float32Array, shape: t.shape.slice(1) }; };
  put('extract_features', o.extractFeatures);
  o.hiddenStates!.forEach((h, i) => put(`hidden_states.${i}`, h));
  put('last_hidden_state', o.lastHiddenState);
  const ms = performance.now() - t0;
  writeSafetensors(out, tensors, { source: 'emolab hubert', model: dir, input, backend: report.name });
  console.log(`${describeBackend(report)}\nHuBERT forward of ${(signal.length / 16000).toFixed(2)} s: ${o.extractFeatures.shape[1]} frames, ${o.hiddenStates!.length} hidden states, ${ms.toFixed(0)} ms -> ${out}`);
  disposeHubertOutput(o);
  x.dispose();
  disposeHubert(model);
  return 0;
}
