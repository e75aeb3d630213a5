/**
 * AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization") on tf.Variables, written
 * here because tf.train has Adam but no decoupled weight decay. The update matches
 * torch.optim.AdamW: p <- p - lr*wd*p - lr * m_hat / (sqrt(v_hat) + eps), with bias-corrected
 * moments m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t). Weight decay skips parameters for which
 * `decay(name)` is false (by default biases and layer-norm gains/offsets).
 *
 * Moments are non-trainable variables keyed by parameter name, so they save to and load from a
 * checkpoint by name (`state()` / `loadState()`), together with the step count.
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../models/layers';
import { EmolabError } from '../errors';
import { fusedAdamW, fusedGlobalNorm } from '../accel/index';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Which parameters get weight decay (default: not biases `.b`, not layer-norm `.gamma`/`.beta`). */
  decay?: (name: string) => boolean;
}

export const defaultDecay = (name: string): boolean => !/\.(b|beta|gamma)$/.test(name);

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly decay: (name: string) => boolean;
  /** Number of updates applied so far. */
  step = 0;
  private readonly m: Record<string, tf.Variable> = {};
  private readonly v: Record<string, tf.Variable> = {};

  constructor(private readonly params: Params, opts: AdamWOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.decay = opts.decay ?? defaultDecay;
    for (const [name, p] of Object.entries(params)) {
      this.m[name] = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
      this.v[name] = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
    }
  }

  /** Apply one update with learning rate `lr`. `grads` is keyed by parameter name; missing = no gradient. */
  apply(grads: Record<string, tf.Tensor>, lr: number): void {
    this.step += 1;
    const t = this.step;
    const bc1 = 1 - Math.pow(this.beta1, t);
    const bc2 = 1 - Math.pow(this.beta2, t);
    tf.tidy(() => {
      for (const [name, p] of Object.entries(this.params)) {
        const g = grads[name];
        if (!g) continue;
        // Native kernels (lib/accel): the same update in one in-place pass instead of ~15 tf ops.
        const wd = this.weightDecay > 0 && this.decay(name) ? this.weightDecay : 0;
        if (fusedAdamW(p, g, this.m[name], this.v[name], { beta1: this.beta1, beta2: this.beta2, eps: this.eps, bc1, bc2, lr, weightDecay: wd })) continue;
        const m = tf.add(tf.mul(this.m[name], this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.v[name], this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        this.m[name].assign(m);
        this.v[name].assign(v);
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), this.eps);
        let next = tf.sub(p, tf.mul(tf.div(m, denom), lr / bc1));
        if (this.weightDecay > 0 && this.decay(name)) next = tf.sub(next, tf.mul(p, lr * this.weightDecay));
        p.assign(next);
      }
    });
  }

  /** Moments as named tensors (`adam.m/<name>`, `adam.v/<name>`); they stay owned by the optimizer. */
  state(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const name of Object.keys(this.params)) {
      out[`adam.m/${name}`] = this.m[name];
      out[`adam.v/${name}`] = this.v[name];
    }
    return out;
  }

  /** Restore moments and step (from a checkpoint). Every parameter's moments must be present. */
  loadState(values: Record<string, { data: Float32Array; shape: number[] }>, step: number, file?: string): void {
    for (const name of Object.keys(this.params)) {
      for (const [slot, store] of [['m', this.m], ['v', this.v]] as const) {
        const e = values[`adam.${slot}/${name}`];
        if (!e) throw new EmolabError('train', `checkpoint has no optimizer slot adam.${slot}/${name}`, { file });
        if (e.shape.join(',') !== store[name].shape.join(',')) {
          throw new EmolabError('train', `optimizer slot adam.${slot}/${name} has shape [${e.shape}], model needs [${store[name].shape}]`, { file });
        }
        tf.tidy(() => store[name].assign(tf.tensor(e.data, e.shape, 'float32')));
      }
    }
    this.step = step;
  }

  dispose(): void {
    for (const v of [...Object.values(this.m), ...Object.values(this.v)]) v.dispose();
  }
}

/**
 * Scale gradients so their global L2 norm is at most `maxNorm` (as torch.nn.utils.clip_grad_norm_).
 * Returns the new gradients (caller disposes) and the norm before clipping.
 */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: number } {
  const names = Object.keys(grads);
  const norm = fusedGlobalNorm(names.map((n) => grads[n])) ?? tf.tidy(() => {
    const sq = names.map((n) => tf.sum(tf.square(grads[n])));
    return sq.length ? Math.sqrt(tf.addN(sq).dataSync()[0]) : 0;
  });
  if (!(maxNorm > 0) || norm <= maxNorm || !Number.isFinite(norm)) {
    return { grads: Object.fromEntries(names.map((n) => [n, tf.clone(grads[n])])), norm };
  }
  const scale = maxNorm / (norm + 1e-6);
  return { grads: Object.fromEntries(names.map((n) => [n, tf.mul(grads[n], scale)])), norm };
}
