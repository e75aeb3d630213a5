/**
 * Clips, padded audio batches and per-layer frame embeddings of the tfjs HuBERT: what every HFLEA stage
 * (./hflea, ./tapt) feeds the model with. A module of its own so that ./tapt and ./hflea do not import
 * each other (tslab's CommonJS loader recurses forever on a cycle).
 */
import * as tf from '@tensorflow/tfjs';
import { EmolabError } from '../errors';
import { hubertForward, type HubertModel } from '../models/hubert';
import { hubertFrameCount, hubertHop, type HubertConfig } from '../models/hubertConfig';
import { Rng } from '../random';

/** One utterance: 16 kHz audio (already normalised if the model expects it) and its class index. */
export interface AlignClip {
  id: string;
  speaker: string;
  label: number;
  audio: Float32Array;
}

export interface AudioBatch {
  audio: tf.Tensor2D;
  frameLengths: number[];
  labels: number[];
  /** First frame of each crop in its clip's full frame sequence. */
  frameOffsets: number[];
  frames: number;
}

/**
 * Pad a set of clips into [B, L]; with `cropSamples`, each longer clip is cut to a window starting at
 * a random multiple of the hop (so crop frame t is frame offset + t of the whole clip).
 */
export function makeAudioBatch(cfg: HubertConfig, clips: AlignClip[], cropSamples: number, rng?: Rng): AudioBatch {
  const hop = hubertHop(cfg);
  const pieces = clips.map((c) => {
    if (c.audio.length <= cropSamples) return { x: c.audio, off: 0 };
    const maxStart = Math.floor((c.audio.length - cropSamples) / hop);
    const s = rng ? rng.int(maxStart + 1) : 0;
    return { x: c.audio.subarray(s * hop, s * hop + cropSamples), off: s };
  });
  const len = Math.max(...pieces.map((p) => p.x.length));
  const data = new Float32Array(clips.length * len);
  pieces.forEach((p, i) => data.set(p.x, i * len));
  const frameLengths = pieces.map((p) => hubertFrameCount(cfg, p.x.length));
  if (frameLengths.some((n) => n <= 0)) throw new EmolabError('train', `a clip is shorter than HuBERT's 400-sample receptive field: ${clips.filter((_, i) => frameLengths[i] <= 0).map((c) => c.id).join(', ')}`);
  return { audio: tf.tensor2d(data, [clips.length, len]), frameLengths, labels: clips.map((c) => c.label), frameOffsets: pieces.map((p) => p.off), frames: hubertFrameCount(cfg, len) };
}

export interface FrameEmbeddings {
  /** N x dim row-major, clips concatenated in order. */
  data: Float32Array;
  dim: number;
  /** Frames per clip. */
  lengths: number[];
}

/** hidden_states[layer] of every clip (clip by clip, truncated to maxSeconds). */
export function layerEmbeddings(enc: HubertModel, clips: AlignClip[], layer: number, maxSeconds: number): FrameEmbeddings {
  if (layer < 0 || layer > enc.config.numHiddenLayers) throw new EmolabError('train', `cluster layer ${layer} does not exist (the model has hidden_states 0..${enc.config.numHiddenLayers})`);
  const parts: Float32Array[] = [];
  const lengths: number[] = [];
  for (const c of clips) {
    const h = tf.tidy(() => {
      const b = makeAudioBatch(enc.config, [c], Math.round(maxSeconds * 16000));
      const o = hubertForward(enc, b.audio, { upToLayer: layer, outputHiddenStates: true });
      return o.hiddenStates![layer];
    });
    parts.push(h.dataSync() as Float32Array);
    lengths.push(h.shape[1]);
    h.dispose();
  }
  const dim = enc.config.hiddenSize;
  const data = new Float32Array(lengths.reduce((a, b) => a + b, 0) * dim);
  let off = 0;
  for (const p of parts) { data.set(p, off); off += p.length; }
  return { data, dim, lengths };
}

/** Mean over frames of the last hidden state of each clip (clip by clip, truncated to maxSeconds): one vector per clip. */
export function utteranceEmbeddings(enc: HubertModel, clips: AlignClip[], maxSeconds: number): number[][] {
  return clips.map((c) => {
    const v = tf.tidy(() => {
      const b = makeAudioBatch(enc.config, [c], Math.round(maxSeconds * 16000));
      return tf.mean(hubertForward(enc, b.audio).lastHiddenState, 1);
    });
    const out = Array.from(v.dataSync() as Float32Array);
    v.dispose();
    return out;
  });
}

/** Split concatenated frame ids back into one Int32Array per clip. */
export function splitIds(ids: Int32Array, lengths: number[]): Int32Array[] {
  const out: Int32Array[] = [];
  let off = 0;
  for (const n of lengths) { out.push(ids.slice(off, off + n)); off += n; }
  return out;
}
