/**
 * HuBERT's masked-prediction head, loss and training step (Hsu et al. 2021, Eq. 2-3), used by HFLEA
 * stage (1) TAPT (k-means targets of the model at hand) and stage (4) alignment pretraining (frame-level
 * pseudo-emotion labels instead of acoustic units):
 *
 *   p(c | h_t) = softmax_c( cos(A h_t, e_c) / tau )
 *
 * with A = `final_proj` (hidden -> 256), e_c a learned 256-d embedding per cluster
 * (`label_embs_concat` in fairseq), tau = 0.1, and cross-entropy over the masked frames only
 * (fairseq's pred_masked_weight = 1, pred_nomask_weight = 0 for HuBERT Base).
 *
 * Logits are built with one matMul against the normalised label embeddings and the loss uses a
 * one-hot target (no gather, whose gradient the wasm backend lacks).
 */
import * as tf from '@tensorflow/tfjs';
import { hubertForward, type HubertModel } from '../models/hubert';
import { ParamFactory, dense, type Params } from '../models/layers';
import { deriveSeed, type Rng } from '../random';
import { makeAudioBatch, type AlignClip } from './hubertBatches';
import { spanMask, type SpanMaskOptions } from './masking';

export interface MaskedPredictionHead {
  params: Params;
  k: number;
  projDim: number;
  temperature: number;
}

/** final_proj (glorot, zero bias) and label embeddings (N(0, 1)) under `pretrain.*`. */
export function createMaskedPredictionHead(hidden: number, k: number, seed: number, projDim = 256, temperature = 0.1): MaskedPredictionHead {
  const f = new ParamFactory(deriveSeed(seed, 77)).scope('pretrain');
  f.dense('final_proj', hidden, projDim);
  f.normal('label_embs', [k, projDim], 1);
  return { params: f.params, k, projDim, temperature };
}

function l2normalize(x: tf.Tensor, axis: number): tf.Tensor {
  return tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), axis, true), 1e-12)));
}

/** Cosine-similarity logits [B, T, K] of hidden states [B, T, H]. */
export function maskedPredictionLogits(head: MaskedPredictionHead, h: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const p = head.params;
    const z = l2normalize(dense(h, p['pretrain.final_proj.w'], p['pretrain.final_proj.b']), -1);
    const e = l2normalize(p['pretrain.label_embs'], -1);
    const [b, t] = h.shape;
    const logits = tf.matMul(tf.reshape(z, [b * t, head.projDim]) as tf.Tensor2D, e as tf.Tensor2D, false, true);
    return tf.reshape(tf.div(logits, head.temperature), [b, t, head.k]) as tf.Tensor3D;
  });
}

/**
 * Mean cross-entropy over frames where `weight` [B*T] is 1 (masked and valid), targets [B*T] cluster
 * ids (ignored where the weight is 0). Also returns the masked-frame accuracy.
 */
export function maskedPredictionLoss(logits: tf.Tensor3D, targets: Int32Array, weight: Float32Array): { loss: tf.Scalar; correct: tf.Scalar; count: number } {
  const [b, t, k] = logits.shape;
  const count = weight.reduce((a, x) => a + x, 0);
  const r = tf.tidy(() => {
    const flat = tf.reshape(logits, [b * t, k]) as tf.Tensor2D;
    const logp = tf.logSoftmax(flat, -1);
    const onehot = tf.oneHot(tf.tensor1d(Int32Array.from(targets, (x) => Math.max(0, x)), 'int32'), k);
    const w = tf.tensor1d(weight);
    const nll = tf.neg(tf.sum(tf.mul(logp, onehot), -1));
    const loss = tf.div(tf.sum(tf.mul(nll, w)), Math.max(1, count)) as tf.Scalar;
    const hit = tf.cast(tf.equal(tf.argMax(flat, -1), tf.tensor1d(targets, 'int32')), 'float32');
    const correct = tf.sum(tf.mul(hit, w)) as tf.Scalar;
    return { loss, correct };
  });
  return { ...r, count };
}

/** What one masked-prediction step saw besides its loss. */
export interface MaskedStepStats {
  /** Masked-frame accuracy of the step (0 when nothing was masked). */
  accuracy: number;
  /** Masked frames with a target, and valid frames with a target. */
  masked: number;
  valid: number;
}

/**
 * The loss of one masked-prediction update (call inside tf.variableGrads): crop `clips` (random
 * offsets on the frame grid from `rng`), span-mask the valid frames (`rng`), run HuBERT with the
 * masked frames replaced by its learned mask embedding (dropout seed `dropoutSeed`), and take the
 * cross-entropy of the cosine logits against `ids` (one frame target per clip frame) over the masked
 * frames. Frames beyond a clip's targets (the embedded part of a truncated clip) are ignored.
 */
export function maskedPredictionStep(enc: HubertModel, head: MaskedPredictionHead, clips: AlignClip[], ids: Int32Array[], o: { cropSamples: number; mask: SpanMaskOptions; dropoutSeed: number }, rng: Rng): { loss: tf.Scalar } & MaskedStepStats {
  let valid = 0, masked = 0, accuracy = 0;
  const loss = tf.tidy(() => {
    const b = makeAudioBatch(enc.config, clips, o.cropSamples, rng);
    const t = b.frames;
    const mask = spanMask(b.frameLengths, t, o.mask, rng);
    const targets = new Int32Array(clips.length * t).fill(-1);
    const weight = new Float32Array(clips.length * t);
    clips.forEach((_, r) => {
      for (let f = 0; f < b.frameLengths[r]; f++) {
        const id = ids[r][b.frameOffsets[r] + f];
        if (id === undefined) continue;
        targets[r * t + f] = id;
        weight[r * t + f] = mask[r * t + f];
        valid++;
      }
    });
    masked = weight.reduce((a, x) => a + x, 0);
    const out = hubertForward(enc, b.audio, { frameLengths: b.frameLengths, maskTimeIndices: tf.tensor2d(mask, [clips.length, t]), training: true, seed: o.dropoutSeed });
    const l = maskedPredictionLoss(maskedPredictionLogits(head, out.lastHiddenState), targets, weight);
    accuracy = l.count ? l.correct.dataSync()[0] / l.count : 0;
    return l.loss;
  });
  return { loss, accuracy, masked, valid };
}
