/**
 * `emolab hubert <model-dir> <in.f32|in.wav|any audio> --out <file.safetensors>`: run HubertModel on
 * one signal and write `extract_features`, `hidden_states.0..N` and `last_hidden_state` as [T, C]
 * float32 tensors (the layout of fixtures/hubert_tiny/outputs.safetensors), so parity with
 * transformers can be checked from outside. `.f32` is raw little-endian float32 at 16 kHz; other
 * files are decoded to 16 kHz mono. The signal is fed as-is unless `--normalize` (zero mean, unit
 * variance, as Wav2Vec2FeatureExtractor(do_normalize=True)).
 *
 * `emolab hubert fetch [--force]` downloads facebook/hubert-base-ls960 (config.json + model.safetensors)
 * into $EMOLAB_MODELS/hubert-base-ls960/ (./hubertFetch).
 */
import { describeBackend, initBackend, tf } from '../backend';
import { decodeAudio } from '../audio/decode';
import { parseArgs, flagString } from '../cli/args';
import { EmolabError } from '../errors';
import { writeSafetensors } from '../store/safetensors';
import { fetchHubertBase, HUBERT_BASE } from './hubertFetch';
import { disposeHubert, disposeHubertOutput, hubertForward, loadHubert, normalizeSignal } from './hubert';

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('hubert', argv, { values: ['out', 'weights'], booleans: ['normalize', 'force'] });
  if (a.positionals[0] === 'fetch') {
    const r = await fetchHubertBase({ force: Boolean(a.flags.force) });
    console.log(`${r.status === 'present' ? 'present ' : 'fetched '} ${HUBERT_BASE.name} -> ${r.dir} (config and weights validated)`);
    return 0;
  }
  const [dir, input] = a.positionals;
  const out = flagString(a, 'out');
  if (!dir || !input || !out) throw new EmolabError('cli', 'usage: emolab hubert <model-dir> <in.f32|wav> --out <file.safetensors> [--weights model.safetensors] [--normalize]');
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
