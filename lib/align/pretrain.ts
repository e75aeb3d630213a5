/**
 * HuBERT's masked-prediction head and loss (Hsu et al. 2021, Eq. 2-3), used by HFLEA step (c) with
 * frame-level pseudo-emotion labels instead of acoustic units:
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
import { ParamFactory, dense, type Params } from '../models/layers';
import { deriveSeed } from '../models/random';

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
