/**
 * Building blocks for speech models in plain tfjs ops, written so that they train on every backend
 * (wasm and cpu included) and respect padding masks everywhere:
 *
 * - `conv1d` is im2col (slices + one matMul per chunk of taps), because the wasm backend has no
 *   Conv2DBackpropFilter and tfjs has no StridedSlice gradient; strided taps are taken with
 *   slice + reshape, whose gradients exist everywhere. It was also faster than tf.conv1d on cpu.
 * - `layerNorm` uses tf.moments (tf.layers.layerNormalization is ~6x slower on wasm).
 * - `multiHeadAttention` takes a key padding mask; `maskedSoftmax` gives exactly 0 weight to masked
 *   positions; `attentionPool` and `maskedMeanPool` pool over valid frames only.
 *
 * Shapes: sequences are [B, T, C] (batch, time, channels). Masks are float [B, T] with 1 for a valid
 * frame and 0 for padding. Weights are plain tensors (usually tf.Variables from `ParamFactory`), in
 * tfjs layout: dense [in, out], conv1d [kernel, in/groups, out].
 *
 * Every function here is pure (no variables created, no randomness except `dropout`, which takes a
 * seed); callers wrap them in tf.tidy.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random';
import { productChoice } from '../accel/index';

/** A large negative number added to masked logits (exp underflows to exactly 0 in float32). */
export const MASK_NEG = -1e9;

// ---------------------------------------------------------------------------------------------
// Parameters

/** Named trainable weights of a model. Keys are stable names used in checkpoints. */
export type Params = Record<string, tf.Variable>;

/**
 * Creates named tf.Variables with seeded, backend-independent initial values (drawn in JS).
 * Variables get tfjs-generated unique names; the key given here is the stable checkpoint name.
 */
export class ParamFactory {
  readonly params: Params = {};
  private readonly rng: Rng;

  constructor(seed: number, private readonly prefix = '') {
    this.rng = new Rng(seed);
  }

  /** A factory whose names are prefixed with `scope + '.'` and which shares this one's params. */
  scope(scope: string): ParamFactory {
    const child = Object.create(ParamFactory.prototype) as ParamFactory;
    Object.assign(child, { params: this.params, rng: this.rng, prefix: this.prefix + scope + '.' });
    return child;
  }

  private add(name: string, shape: number[], values: Float32Array): tf.Variable {
    const key = this.prefix + name;
    if (this.params[key]) throw new Error(`parameter "${key}" defined twice`);
    const v = tf.tidy(() => tf.variable(tf.tensor(values, shape, 'float32'), true));
    this.params[key] = v;
    return v;
  }

  /** Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fanIn + fanOut)). */
  glorot(name: string, shape: number[], fanIn = shape[shape.length - 2] ?? shape[0], fanOut = shape[shape.length - 1]): tf.Variable {
    const a = Math.sqrt(6 / (fanIn + fanOut));
    const n = shape.reduce((x, y) => x * y, 1);
    const vals = new Float32Array(n);
    for (let i = 0; i < n; i++) vals[i] = (this.rng.next() * 2 - 1) * a;
    return this.add(name, shape, vals);
  }

  /** Normal(0, std). */
  normal(name: string, shape: number[], std: number): tf.Variable {
    const n = shape.reduce((x, y) => x * y, 1);
    const vals = new Float32Array(n);
    for (let i = 0; i < n; i++) vals[i] = this.rng.normal() * std;
    return this.add(name, shape, vals);
  }

  zeros(name: string, shape: number[]): tf.Variable {
    return this.add(name, shape, new Float32Array(shape.reduce((x, y) => x * y, 1)));
  }

  ones(name: string, shape: number[]): tf.Variable {
    return this.add(name, shape, new Float32Array(shape.reduce((x, y) => x * y, 1)).fill(1));
  }

  /** Dense weights {w [in,out] glorot, b [out] zeros} under `name.w`, `name.b`. */
  dense(name: string, inDim: number, outDim: number, bias = true): DenseWeights {
    return { w: this.glorot(`${name}.w`, [inDim, outDim]), b: bias ? this.zeros(`${name}.b`, [outDim]) : undefined };
  }

  /** Layer-norm weights {gamma ones, beta zeros}. */
  layerNorm(name: string, dim: number): LayerNormWeights {
    return { gamma: this.ones(`${name}.gamma`, [dim]), beta: this.zeros(`${name}.beta`, [dim]) };
  }

  /** Conv1d weights {w [k, in/groups, out], b [out]}, glorot with fan-in k*in/groups. */
  conv1d(name: string, kernel: number, inDim: number, outDim: number, groups = 1): Conv1dWeights {
    const cin = inDim / groups;
    return { w: this.glorot(`${name}.w`, [kernel, cin, outDim], kernel * cin, kernel * outDim / groups), b: this.zeros(`${name}.b`, [outDim]) };
  }

  /** Multi-head attention weights (q, k, v, o projections of d x d). */
  attention(name: string, dim: number): AttentionWeights {
    return {
      q: this.dense(`${name}.q`, dim, dim), k: this.dense(`${name}.k`, dim, dim),
      v: this.dense(`${name}.v`, dim, dim), o: this.dense(`${name}.o`, dim, dim),
    };
  }
}

/** Total number of scalars in a parameter set. */
export function countParams(params: Params): number {
  return Object.values(params).reduce((n, v) => n + v.size, 0);
}

/** Dispose every variable of a parameter set. */
export function disposeParams(params: Params): void {
  for (const v of Object.values(params)) v.dispose();
}

// ---------------------------------------------------------------------------------------------
// Dense, activations, normalisation

export interface DenseWeights { w: tf.Tensor; b?: tf.Tensor }
export interface LayerNormWeights { gamma: tf.Tensor; beta: tf.Tensor }

/**
 * a [M, K] @ b [K, N]. tf.matMul's gradient multiplies with transposeA / transposeB, which wasm's own
 * kernel runs on a slow path (measured on this machine, process CPU time: [1200,400] x [400,32] 3.2 ms
 * untransposed, 25-30 ms with either transpose flag; bench/NOTES.md). Where that measurement holds
 * (wasm's own kernels: lib/accel productChoice) this version's gradient transposes explicitly (cheap)
 * and multiplies untransposed; with the native OpenBLAS kernels and on other backends it is tf.matMul.
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return productChoice().untransposedGradient ? (untransposedGradMatMul(a, b) as tf.Tensor2D) : tf.matMul(a, b);
}

const untransposedGradMatMul = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, tf.transpose(saved[1] as tf.Tensor2D)), tf.matMul(tf.transpose(saved[0] as tf.Tensor2D), g)];
    },
  };
});

/** x [..., in] @ w [in, out] + b -> [..., out]. */
export function dense<R extends tf.Rank>(x: tf.Tensor<R>, w: tf.Tensor, b?: tf.Tensor): tf.Tensor<R> {
  return tf.tidy(() => {
    const inDim = x.shape[x.rank - 1] as number;
    const outDim = w.shape[1] as number;
    const flat = x.rank === 2 ? (x as tf.Tensor2D) : x.reshape([-1, inDim]) as tf.Tensor2D;
    let y: tf.Tensor = matMul2d(flat, w as tf.Tensor2D);
    if (b) y = tf.add(y, b);
    return (x.rank === 2 ? y : y.reshape([...x.shape.slice(0, -1), outDim])) as tf.Tensor<R>;
  });
}

/** `dense` with a weights object. */
export function applyDense<R extends tf.Rank>(x: tf.Tensor<R>, d: DenseWeights): tf.Tensor<R> {
  return dense(x, d.w, d.b);
}

/** GELU. Exact (erf) by default, as in BERT/HuBERT; `approximate` uses the tanh form. */
export function gelu<T extends tf.Tensor>(x: T, approximate = false): T {
  return tf.tidy(() => {
    if (approximate) {
      const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner))) as T;
    }
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))) as T;
  });
}

/** Layer normalisation over the last axis with tf.moments: (x - mean) / sqrt(var + eps) * gamma + beta. */
export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): T {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normed, gamma), beta) as T;
  });
}

/** `layerNorm` with a weights object. */
export function applyLayerNorm<T extends tf.Tensor>(x: T, ln: LayerNormWeights, eps = 1e-5): T {
  return layerNorm(x, ln.gamma, ln.beta, eps);
}

/** Inverted dropout with a seeded mask; identity when rate is 0. Seed it from (seed, step, layer). */
export function dropout<T extends tf.Tensor>(x: T, rate: number, seed: number): T {
  if (rate <= 0) return x;
  return tf.dropout(x, rate, undefined, seed) as T;
}

// ---------------------------------------------------------------------------------------------
// Masks

/** Float mask [B, maxLen]: 1 where t < lengths[b], else 0. */
export function lengthMask(lengths: number[], maxLen = Math.max(0, ...lengths)): tf.Tensor2D {
  const m = new Float32Array(lengths.length * maxLen);
  lengths.forEach((len, b) => m.fill(1, b * maxLen, b * maxLen + Math.min(len, maxLen)));
  return tf.tensor2d(m, [lengths.length, maxLen]);
}

/** Zero the padded frames of x [B, T, C] (mask [B, T]). */
export function applyMask(x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => tf.mul(x, mask.expandDims(2)) as tf.Tensor3D);
}

/**
 * Softmax along `axis` where mask is 0 gets exactly 0 weight (the -1e9 bias underflows exp to 0).
 * mask broadcasts against logits. Rows whose mask is all 0 return all zeros (not NaN) unless
 * `zeroEmptyRows` is false — callers that know every row has a valid position (attention over
 * clips of at least one frame) skip that extra full-size multiply.
 */
export function maskedSoftmax<T extends tf.Tensor>(logits: T, mask?: tf.Tensor, axis = -1, zeroEmptyRows = true): T {
  if (!mask) return tf.softmax(logits, axis) as T;
  return tf.tidy(() => {
    const biased = tf.add(logits, tf.mul(tf.sub(1, mask), MASK_NEG));
    const p = tf.softmax(biased, axis);
    return (zeroEmptyRows ? tf.mul(p, mask) : p) as T;
  });
}

// ---------------------------------------------------------------------------------------------
// Convolution as im2col

export interface Conv1dOptions {
  stride?: number;
  dilation?: number;
  groups?: number;
  /**
   * 'same' (default): left pad floor(d(k-1)/2), right pad the rest; output length ceil(T/stride).
   * The left pad does not depend on T, so a padded batch computes exactly what each clip alone would.
   * 'valid': no padding. A number or [left, right]: explicit zero padding (PyTorch's `padding=p` is p).
   */
  padding?: 'same' | 'valid' | number | [number, number];
  /** Largest im2col width (taps x channels) per matMul; more taps are summed in chunks. */
  maxColumns?: number;
}

function convPads(kernel: number, opts: Conv1dOptions): [number, number] {
  const d = opts.dilation ?? 1;
  const p = opts.padding ?? 'same';
  if (p === 'valid') return [0, 0];
  if (p === 'same') {
    const total = d * (kernel - 1);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  }
  return typeof p === 'number' ? [p, p] : p;
}

/** Output length of `conv1d` for an input of length `t`. */
export function conv1dOutputLength(t: number, kernel: number, opts: Conv1dOptions = {}): number {
  const [l, r] = convPads(kernel, opts);
  const d = opts.dilation ?? 1;
  const s = opts.stride ?? 1;
  return Math.max(0, Math.floor((t + l + r - d * (kernel - 1) - 1) / s) + 1);
}

/**
 * 1-D convolution of x [B, T, Cin] with w [K, Cin/groups, Cout] (+ b [Cout]) as im2col: the K taps
 * are sliced, concatenated on the channel axis and multiplied by w reshaped to [K*Cin/g, Cout].
 * Trains on wasm (no conv backprop kernels needed). Matches tf.conv1d / torch.nn.Conv1d (with the
 * weight transposed from [Cout, Cin/g, K] to [K, Cin/g, Cout]).
 *
 * The input is turned time-major ([T, B, C]) once so that every tap is a contiguous slice (a plain
 * memory copy on every backend; batch-major taps hit the cpu backend's slow strided-slice path).
 * A stride s is handled by splitting time into s phases first (reshape [T/s, s, B, C] + one slice
 * per phase); tap j then starts at row floor(j*d/s) of phase (j*d) mod s.
 */
export function conv1d(x: tf.Tensor3D, w: tf.Tensor, b?: tf.Tensor, opts: Conv1dOptions = {}): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, t, cin] = x.shape;
    const [k, cinG, cout] = w.shape as [number, number, number];
    const groups = opts.groups ?? 1;
    const stride = opts.stride ?? 1;
    const dil = opts.dilation ?? 1;
    if (cin % groups !== 0 || cout % groups !== 0 || cinG !== cin / groups) {
      throw new Error(`conv1d: input channels ${cin}, weight [${w.shape}], groups ${groups} do not fit`);
    }
    const [l, r] = convPads(k, opts);
    const tOut = conv1dOutputLength(t, k, opts);
    if (tOut === 0) return tf.zeros([batch, 0, cout]) as tf.Tensor3D;
    // Pad so every tap's strided span fits and the length is a multiple of the stride.
    const need = (k - 1) * dil + tOut * stride;
    const total = Math.ceil(Math.max(need, t + l + r) / stride) * stride;
    const xp = tf.pad(x, [[0, 0], [l, total - t - l], [0, 0]]);
    const xt = tf.transpose(xp, [1, 0, 2]) as tf.Tensor3D; // [total, B, Cin]
    const rows = total / stride;
    const phases: tf.Tensor3D[] = [];
    if (stride === 1) phases.push(xt);
    else {
      const xr = xt.reshape([rows, stride, batch, cin]);
      for (let p = 0; p < stride; p++) phases.push(tf.slice(xr, [0, p, 0, 0], [rows, 1, batch, cin]).reshape([rows, batch, cin]));
    }
    const coutG = cout / groups;
    const maxCols = opts.maxColumns ?? 8192;
    const tapsPerChunk = Math.max(1, Math.floor(maxCols / cinG));
    const outs: tf.Tensor2D[] = [];
    for (let g = 0; g < groups; g++) {
      const wg = groups === 1 ? w : tf.slice(w, [0, 0, g * coutG], [k, cinG, coutG]);
      let acc: tf.Tensor2D | undefined;
      for (let k0 = 0; k0 < k; k0 += tapsPerChunk) {
        const k1 = Math.min(k, k0 + tapsPerChunk);
        const taps: tf.Tensor3D[] = [];
        for (let j = k0; j < k1; j++) {
          const off = j * dil;
          const ph = phases[off % stride];
          taps.push(tf.slice(ph, [Math.floor(off / stride), 0, g * cinG], [tOut, batch, cinG]));
        }
        const cols = (taps.length === 1 ? taps[0] : tf.concat(taps, 2)).reshape([tOut * batch, (k1 - k0) * cinG]) as tf.Tensor2D;
        const wChunk = (k0 === 0 && k1 === k ? wg : tf.slice(wg, [k0, 0, 0], [k1 - k0, cinG, coutG])).reshape([(k1 - k0) * cinG, coutG]) as tf.Tensor2D;
        const part = matMul2d(cols, wChunk);
        acc = acc ? (tf.add(acc, part) as tf.Tensor2D) : part;
      }
      outs.push(acc!);
    }
    let y: tf.Tensor = outs.length === 1 ? outs[0] : tf.concat(outs, 1);
    if (b) y = tf.add(y, b);
    return tf.transpose(y.reshape([tOut, batch, cout]), [1, 0, 2]) as tf.Tensor3D;
  });
}

export interface Conv1dWeights { w: tf.Tensor; b?: tf.Tensor }

/** Output mask after a conv: a frame is valid when its centre input frame was (lengths mapped). */
export function convLengths(lengths: number[], kernel: number, opts: Conv1dOptions = {}): number[] {
  return lengths.map((len) => conv1dOutputLength(len, kernel, opts));
}

// ---------------------------------------------------------------------------------------------
// Positions, attention, pooling

/** Sinusoidal position encodings [T, D] (Vaswani et al.): sin on even, cos on odd channels. */
export function sinusoidalPositions(t: number, d: number): tf.Tensor2D {
  const out = new Float32Array(t * d);
  for (let p = 0; p < t; p++) {
    for (let i = 0; i < d; i += 2) {
      const angle = p / Math.pow(10000, i / d);
      out[p * d + i] = Math.sin(angle);
      if (i + 1 < d) out[p * d + i + 1] = Math.cos(angle);
    }
  }
  return tf.tensor2d(out, [t, d]);
}

export interface AttentionWeights { q: DenseWeights; k: DenseWeights; v: DenseWeights; o: DenseWeights }

export interface AttentionOptions {
  /** [B, T] float, 1 = valid key. Masked keys get exactly zero attention. */
  keyMask?: tf.Tensor2D;
  /** Dropout on attention weights (training only) and its seed. */
  dropout?: number;
  seed?: number;
}

/**
 * Multi-head scaled dot-product self-attention of x [B, T, D] -> [B, T, D] (output projection
 * included). Padded query rows produce values too; mask or pool them away downstream.
 */
export function multiHeadAttention(x: tf.Tensor3D, w: AttentionWeights, numHeads: number, opts: AttentionOptions = {}): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, t, d] = x.shape;
    if (d % numHeads !== 0) throw new Error(`multiHeadAttention: model dim ${d} not divisible by ${numHeads} heads`);
    const dh = d / numHeads;
    if (productChoice().blockDiagonalAttention && numHeads <= BLOCK_DIAGONAL_MAX_HEADS && !(opts.dropout && opts.dropout > 0)) {
      const ctx = blockDiagonalAttention(applyDense(x, w.q), applyDense(x, w.k), applyDense(x, w.v), numHeads, opts.keyMask);
      return applyDense(ctx, w.o);
    }
    const split = (y: tf.Tensor3D) => y.reshape([b, t, numHeads, dh]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
    const q = split(applyDense(x, w.q));
    const k = split(applyDense(x, w.k));
    const v = split(applyDense(x, w.v));
    const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)) as tf.Tensor4D; // [B,H,T,T]
    const mask = opts.keyMask ? opts.keyMask.reshape([b, 1, 1, t]) : undefined;
    // Every clip has at least one valid frame, so no row is fully masked.
    let attn = maskedSoftmax(scores, mask, -1, false);
    if (opts.dropout && opts.dropout > 0) attn = dropout(attn, opts.dropout, opts.seed ?? 0);
    const ctx = tf.matMul(attn, v).transpose([0, 2, 1, 3]).reshape([b, t, d]) as tf.Tensor3D;
    return applyDense(ctx, w.o);
  });
}

/**
 * Most heads for which `blockDiagonalAttention` is used on wasm's own kernels (its wasted work grows with
 * the head count). Whole training steps, interleaved (`npm run bench -- products`, bench/NOTES.md): tiny
 * (2 heads, D 32) 158 vs 171 ms CPU for block-diagonal; base (4 heads, D 256) 3,868 vs 3,335 ms, i.e.
 * batched would win at 4 heads there (one 6-step run). Left at 4 for now: lib/models/memory.ts's wasm
 * estimate (the settings' memory check) models these block-diagonal buffers from this constant.
 */
export const BLOCK_DIAGONAL_MAX_HEADS = 4;

/**
 * Scaled dot-product attention of projected q, k, v [B, T, D] (H heads, key mask [B, T]) -> context
 * [B, T, D], as 2-D products that take wasm's fast matMul path: per clip, q_b [T, D] times K_b placed
 * on a block diagonal [D, H*T] gives every head's scores [T, H, T]; the weights [T, H*T] times V_b on a
 * block diagonal [H*T, D] give the context already in [T, D] layout. H-fold wasted multiply-adds, but
 * wasm's batched BatchMatMul is ~10x slower per flop. Measured fwd + bwd of one block (CPU time):
 * 8 x 150, D 32, 2 heads 75 -> 57 ms; D 256, 4 heads 470 -> 397 ms (bench/NOTES.md). Same values as the
 * batched form (to float rounding).
 */
export function blockDiagonalAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, numHeads: number, keyMask?: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, t, d] = q.shape;
    const h = numHeads;
    const dh = d / h;
    const kt = k.reshape([b, t, h, dh]).transpose([0, 2, 3, 1]) as tf.Tensor4D; // [B, H, dh, T]
    const vh = v.reshape([b, t, h, dh]).transpose([0, 2, 1, 3]) as tf.Tensor4D; // [B, H, T, dh]
    const kbd = tf.concat(Array.from({ length: h }, (_, i) =>
      tf.pad(tf.slice(kt, [0, i, 0, 0], [b, 1, dh, t]).reshape([b, dh, t]), [[0, 0], [0, 0], [i * t, (h - 1 - i) * t]])), 1); // [B, D, H*T]
    const vbd = tf.concat(Array.from({ length: h }, (_, i) =>
      tf.pad(tf.slice(vh, [0, i, 0, 0], [b, 1, t, dh]).reshape([b, t, dh]), [[0, 0], [0, 0], [i * dh, (h - 1 - i) * dh]])), 1); // [B, H*T, D]
    // Rows by slice (not tf.unstack: Unpack's gradient fails when a row does not reach the loss).
    const row = (x: tf.Tensor3D, i: number): tf.Tensor2D => tf.slice(x, [i, 0, 0], [1, x.shape[1], x.shape[2]]).reshape([x.shape[1], x.shape[2]]);
    const outs = Array.from({ length: b }, (_, i) => {
      const scores = tf.mul(matMul2d(row(q, i), row(kbd as tf.Tensor3D, i)), 1 / Math.sqrt(dh)).reshape([t, h, t]);
      // Every clip has at least one valid frame, so no row is fully masked.
      const m = keyMask ? tf.slice(keyMask, [i, 0], [1, t]).reshape([1, 1, t]) : undefined;
      const attn = maskedSoftmax(scores, m, -1, false);
      return matMul2d(attn.reshape([t, h * t]) as tf.Tensor2D, row(vbd as tf.Tensor3D, i));
    });
    return tf.stack(outs) as tf.Tensor3D;
  });
}

/** Mean over valid frames: h [B, T, D], mask [B, T] -> [B, D]. Empty rows give 0. */
export function maskedMeanPool(h: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const m = mask.expandDims(2);
    const sum = tf.sum(tf.mul(h, m), 1);
    const n = tf.maximum(tf.sum(mask, 1, true), 1e-9);
    return tf.div(sum, n) as tf.Tensor2D;
  });
}

export interface AttentionPoolWeights {
  /** Optional hidden projection [D, A] (+ bias) before tanh; without it the score is tanh(h w) for w [D, 1]. */
  hidden?: DenseWeights;
  /** Score vector [A, 1] (or [D, 1] without `hidden`). */
  score: DenseWeights;
}

/**
 * Soft attention pooling (Li et al.'s SER head; Goncalves & Busso's as well): e_t = score(tanh(W h_t)),
 * alpha = masked softmax over time, pooled = sum_t alpha_t h_t. Returns pooled [B, D] and alpha [B, T].
 */
export function attentionPool(h: tf.Tensor3D, mask: tf.Tensor2D | undefined, w: AttentionPoolWeights): { pooled: tf.Tensor2D; weights: tf.Tensor2D } {
  return tf.tidy(() => {
    const [b, t] = h.shape;
    const hid = w.hidden ? tf.tanh(applyDense(h, w.hidden)) : tf.tanh(h);
    const e = applyDense(hid, w.score).reshape([b, t]) as tf.Tensor2D;
    const alpha = maskedSoftmax(e, mask, -1);
    const pooled = tf.sum(tf.mul(h, alpha.expandDims(2)), 1) as tf.Tensor2D;
    return { pooled, weights: alpha };
  });
}

/** A frame range [start, end) of one batch row, to be pooled into one vector. */
export interface FrameSpan { row: number; start: number; end: number }

/**
 * Mean-pool arbitrary frame spans of h [B, T, D] -> [S, D] with one matMul against a constant
 * averaging matrix (differentiable, no gather gradients needed). Spans are clipped to [0, T).
 */
export function poolSpans(h: tf.Tensor3D, spans: FrameSpan[]): tf.Tensor2D {
  return tf.tidy(() => {
    const [b, t, d] = h.shape;
    const p = new Float32Array(spans.length * b * t);
    spans.forEach((s, i) => {
      const start = Math.max(0, Math.min(t, s.start));
      const end = Math.max(start, Math.min(t, s.end));
      if (end > start) p.fill(1 / (end - start), i * b * t + s.row * t + start, i * b * t + s.row * t + end);
    });
    const pm = tf.tensor2d(p, [spans.length, b * t]);
    return tf.matMul(pm, h.reshape([b * t, d]) as tf.Tensor2D);
  });
}
