/**
 * How much memory one training step needs, estimated before training starts, and a refusal (with the
 * setting to change) when it cannot fit the backend's heap.
 *
 * The wasm backend has one 4 GiB heap (single-threaded under Node). When a training step does not fit,
 * tfjs fails with `RuntimeError: memory access out of bounds` and every later call with `Aborted()`;
 * the `base` encoder at batch 16 (and `small` at batch 16, and `base` at batch 8 at step 24) did that
 * on EmoDB. `checkTrainingFits` refuses such a configuration up front.
 *
 * The estimate follows the model's structure (lib/models/encoder.ts, layers.ts, heads.ts), float32:
 *
 * - parameters: the exact count of createModel's variables x 4 bytes;
 * - optimizer: AdamW's two moments (2x), the gradients (1x) and their clipped copies (1x,
 *   clipByGlobalNorm returns new tensors while the raw gradients are still alive): 4x parameters;
 * - activations: every tensor the forward pass creates, which the tape keeps until the backward pass
 *   ends: per conv layer the padded/transposed input, the k taps and the im2col buffer [B, T, k*Cin]
 *   (conv1d is im2col + matMul), and ~13 [B, T, Cout] tensors (matMul, bias, transpose, layer norm,
 *   exact GELU, mask); per Transformer layer ~24 [B, T', d] tensors (layer norms, q/k/v/o, residuals,
 *   dropout masks) and ~7 [B, T', ffDim] (ff1, GELU, ff2); the head's attention pooling;
 * - attention: per layer the scores [B, heads, T', T'] with the scaling, masking and softmax copies
 *   (4x); on wasm also the block-diagonal K and V ([B, d, heads*T'] each, twice: pad + concat);
 * - workspace: the backward pass's gradients. tfjs's tape (tfjs-core tape.ts backpropagateGradients)
 *   keeps the gradient of every intermediate tensor until the backward pass ends, so this is one more
 *   copy of activations + attention, plus slice gradients (a zero-padded copy of the whole sliced
 *   tensor each): the conv taps (k x the input's stride phase), and on wasm the block-diagonal
 *   attention's per-clip rows of q, K and V, B full-size gradients per layer, a term in B^2 (small
 *   at batch 8 needs 2.26x its batch-4 peak).
 *
 * The sum of the last three is multiplied by a safety factor (`ACTIVATION_SAFETY`) calibrated so that
 * `bytes` is at least every measured peak below; parameters and optimizer are exact and not scaled.
 *
 * Calibration (measured 2026-12-02 on this repository's 2-core machine, tfjs 4.22 wasm SIMD, SER head = attention
 * pooling + 7 classes, AdamW + clip 1; 2 steps per point, each point in a fresh process):
 *
 *   EMOLAB_BACKEND=wasm node --import tsx bench/memory.ts --steps 2
 *
 * | preset | B x T (frames) | peakBytes MiB | wasm heap MiB (per step) | estimate MiB | estimate / peak | unscaled factor needed |
 * |---|---|---|---|---|---|---|
 * | tiny  |  4 x 200 |   42 |   40, 40   |   50 | 1.18 | 1.77 |
 * | tiny  |  8 x 400 |  216 |  207, 207  |  255 | 1.18 | 1.78 |
 * | tiny  | 16 x 800 | 1262 | 1193, 1193 | 1478 | 1.17 | 1.79 |
 * | small |  2 x 200 |  136 |  144, 144  |  147 | 1.08 | 1.93 |
 * | small |  4 x 400 |  594 |  611, 611  |  661 | 1.11 | 1.89 |
 * | small |  8 x 400 | 1343 | 1290, 1290 | 1487 | 1.11 | 1.89 |
 * | small |  4 x 800 | 1379 | 1288, 1288 | 1556 | 1.13 | 1.86 |
 * | base  |  2 x 400 |  770 |  804, 804  |  821 | 1.07 | 1.96 |
 *
 * ("unscaled factor needed": the factor on activations + attention + workspace at which the estimate
 * equals the peak; ACTIVATION_SAFETY = 2.1 is above all of them.) Mixed shapes, 6 steps at
 * frames x (0.5, 0.8, 0.6, 0.9, 0.7, 1.0) (`--vary --steps 6`): tiny 16 x 800 heap 515, 901, 901, 1097,
 * 1097, 1193 MiB against a 1262 MiB peak; small 4 x 600: 429 ... 901 MiB against 961 MiB. The heap
 * ended at 0.93-1.06x the peak of live tensors in every run, without growth from fragmentation over
 * these few steps. Estimates from this model, wasm, SER head, at EmoDB's longest padded batch (800
 * frames): tiny x 16 1.4 GiB, small x 16 8.1 GiB, base x 8 8.0 GiB, base x 16 19.5 GiB: the crashes above
 * (and base x 8 at 300 frames, bench/train.ts's default, 2.7 GiB: it fits).
 *
 * peakBytes is tf.profile's peakBytes over a whole step (live tensor bytes, backward included); heap is
 * the wasm heap (tf.backend().wasm.HEAPU8.length) after each step: it never shrinks. A step whose peak
 * is just under 4 GiB is not safe: the heap reached up to 1.06x the live peak here, emscripten grows it
 * in large steps (a growth near the 4 GiB ceiling fails outright), a long run meets its longest batch
 * only at some step (base at batch 8 crashed at step 24 of an epoch, not at step 1) and may fragment
 * over hundreds of steps more than these short runs show, and the estimate itself is only ~7% above
 * the base point. Hence `heapLimitBytes('wasm')` counts `WASM_USABLE_FRACTION` = 70% of the heap.
 */
import { totalmem } from 'node:os';
import { BLOCK_DIAGONAL_MAX_HEADS, conv1dOutputLength } from './layers';
import { ENCODER_PRESETS, encodedLength, validateEncoderConfig, type EncoderConfig, type EncoderPreset } from './encoder';
import type { HeadSpec } from './heads';
import { EmolabError } from '../errors';

export type MemoryBackend = 'wasm' | 'cpu' | 'webgpu' | 'tensorflow';

export interface TrainingMemoryInput {
  encoder: EncoderConfig;
  /** Heads trained with the encoder (default none: encoder only). */
  heads?: HeadSpec[];
  batchSize: number;
  /** Longest padded input in a batch, in 10 ms frames. */
  frames: number;
  backend: MemoryBackend;
}

export interface MemoryBreakdown {
  /** Parameters x 4 bytes (exact). */
  parameters: number;
  /** AdamW moments (2x), gradients (1x) and clipped gradients (1x) (exact). */
  optimizer: number;
  /** Forward tensors kept for the backward pass, attention scores excluded (x safety factor). */
  activations: number;
  /** Attention scores and their softmax copies, all layers (x safety factor). */
  attention: number;
  /** Gradients the tape keeps during the backward pass, slice gradients included (x safety factor). */
  workspace: number;
}

export interface TrainingMemoryEstimate {
  /** Estimated peak bytes of one training step (the sum of the breakdown). */
  bytes: number;
  breakdown: MemoryBreakdown;
  /** Number of parameters (encoder + heads). */
  parameterCount: number;
  /** Encoder frames T' for the given input frames. */
  encodedFrames: number;
  /** The safety factor applied to activations, attention and workspace. */
  safetyFactor: number;
  /** The same sum without the safety factor. */
  unscaledBytes: number;
}

/** Safety factor on the structural activation estimate (fitted to the calibration table; see above). */
export const ACTIVATION_SAFETY = 2.1;

/** Largest wasm heap (tfjs-backend-wasm 4.22: emscripten's getHeapMax, 4 GiB - 64 KiB). */
export const WASM_HEAP_MAX = 4294901760;

/** Share of the wasm heap a training step's estimate may use (fragmentation and growth, see above). */
export const WASM_USABLE_FRACTION = 0.7;

/** Share of the machine's memory the cpu / tensorflow backends may use. */
export const HOST_USABLE_FRACTION = 0.5;

const F32 = 4;

/** Number of parameters createModel makes for this encoder and these heads. */
export function countModelParams(encoder: EncoderConfig, heads: HeadSpec[] = []): number {
  let n = 0;
  let cin = encoder.inputDim;
  for (const cout of encoder.convChannels) {
    n += encoder.convKernel * cin * cout + cout + 2 * cout;
    cin = cout;
  }
  const d = encoder.dModel;
  n += cin * d + d;
  n += encoder.numLayers * (2 * 2 * d + 4 * (d * d + d) + (d * encoder.ffDim + encoder.ffDim) + (encoder.ffDim * d + d));
  n += 2 * d;
  for (const h of heads) {
    if (h.kind === 'segment') n += d + 1;
    else if (h.kind === 'frame') n += d * h.classes + h.classes;
    else {
      if (h.pooling === 'attention') {
        const a = h.attentionDim ?? d;
        n += d * a + a + a;
      }
      n += d * h.classes + h.classes;
    }
  }
  return n;
}

/** Estimated peak memory of one training step (forward, backward, clip, AdamW) of this configuration. */
export function estimateTrainingMemory(input: TrainingMemoryInput): TrainingMemoryEstimate {
  const { encoder: cfg, batchSize: B, frames, backend } = input;
  const heads = input.heads ?? [];
  validateEncoderConfig(cfg);
  if (!(Number.isInteger(B) && B >= 1)) throw new EmolabError('train', `batch size must be a positive integer, got ${B}`);
  if (!(Number.isFinite(frames) && frames >= 1)) throw new EmolabError('train', `frames must be a positive number, got ${frames}`);
  const T = Math.ceil(frames);
  const P = countModelParams(cfg, heads);

  // Elements (float32) of every kept forward tensor.
  let act = B * T * cfg.inputDim; // masked input
  // Gradients that tfjs's tape keeps until the backward pass ends beyond one per forward tensor:
  // the gradient of a slice is a zero-padded copy of the whole sliced tensor.
  let sliceGrads = 0;
  let t = T;
  let cin = cfg.inputDim;
  const k = cfg.convKernel;
  cfg.convChannels.forEach((cout, i) => {
    const s = cfg.convStrides[i];
    const tOut = conv1dOutputLength(t, k, { stride: s });
    const need = (k - 1) + tOut * s;
    const padded = Math.ceil(Math.max(need, t + k - 1) / s) * s;
    act += (s > 1 ? 3 : 2) * B * padded * cin // pad, time-major transpose, stride phases
      + 2 * B * tOut * k * cin // the k taps and their concatenation (the im2col buffer)
      + 13 * B * tOut * cout; // matMul, bias, transpose, layer norm (4), GELU (5), mask
    sliceGrads += k * B * (padded / s) * cin; // each tap's gradient spans its whole stride phase
    t = tOut;
    cin = cout;
  });
  const Tp = t;
  const d = cfg.dModel;
  const H = cfg.numHeads;
  const drop = cfg.dropout > 0 ? 1 : 0;
  act += B * Tp * d * (3 + 2 * drop); // proj, bias, positions, dropout
  const blockDiagonal = backend === 'wasm' && H <= BLOCK_DIAGONAL_MAX_HEADS;
  const perLayerAct = B * Tp * d * (20 + 4 * drop + 4) + 7 * B * Tp * cfg.ffDim;
  const perLayerAtt = 4 * B * H * Tp * Tp + (blockDiagonal ? 4 * B * H * Tp * d : 0);
  act += cfg.numLayers * perLayerAct + B * Tp * d * 5; // + output layer norm and mask
  const att = cfg.numLayers * perLayerAtt;
  // wasm block-diagonal attention slices one clip's q, K and V rows at a time: B full-size gradients each.
  if (blockDiagonal) sliceGrads += cfg.numLayers * B * (B * Tp * d * (1 + 2 * H));
  for (const h of heads) {
    const a = h.kind === 'utterance' && h.pooling === 'attention' ? h.attentionDim ?? d : 0;
    act += B * Tp * (3 * a + 3 * d) + (h.kind === 'frame' ? 3 * B * Tp * h.classes : 0);
  }
  // tfjs keeps the gradient of every intermediate tensor until the backward pass ends (tape.ts
  // backpropagateGradients disposes none of them): about one more copy of the forward tensors.
  const work = act + att + sliceGrads;

  const f = ACTIVATION_SAFETY;
  const breakdown: MemoryBreakdown = {
    parameters: P * F32,
    optimizer: 4 * P * F32,
    activations: Math.round(act * F32 * f),
    attention: Math.round(att * F32 * f),
    workspace: Math.round(work * F32 * f),
  };
  const bytes = breakdown.parameters + breakdown.optimizer + breakdown.activations + breakdown.attention + breakdown.workspace;
  const unscaledBytes = 5 * P * F32 + (act + att + work) * F32;
  return { bytes, breakdown, parameterCount: P, encodedFrames: encodedLength(cfg, T), safetyFactor: f, unscaledBytes };
}

/**
 * Bytes a training step may use on this backend: wasm `WASM_USABLE_FRACTION` of its 4 GiB heap
 * (the heap never shrinks and fragments); cpu and tensorflow `HOST_USABLE_FRACTION` of the machine's
 * memory (tensors live in host memory; tfjs-node-gpu's GPU memory is not queried); webgpu: unknown
 * (the adapter's memory is not exposed to tfjs), so Infinity: nothing is refused there.
 */
export function heapLimitBytes(backend: MemoryBackend, total = totalmem()): number {
  switch (backend) {
    case 'wasm': return Math.floor(WASM_HEAP_MAX * WASM_USABLE_FRACTION);
    case 'cpu':
    case 'tensorflow': return Math.floor(total * HOST_USABLE_FRACTION);
    case 'webgpu': return Infinity;
  }
}

export interface TrainingFitInput extends TrainingMemoryInput {
  /** What is being trained, for the message (e.g. 'finetune'). */
  what: string;
  /** The names of the settings a user changes, for the hint. */
  settingNames: { batchSize: string; frames: string; encoder: string };
  /** Override the backend's limit (bytes). */
  limitBytes?: number;
}

export interface TrainingFit extends TrainingMemoryEstimate {
  limitBytes: number;
}

const gib = (n: number) => (n / 2 ** 30).toFixed(n < 2 ** 30 ? 2 : 1);

/** The preset name of an encoder config, when it equals one (else 'custom'). */
function presetName(cfg: EncoderConfig): string {
  for (const [name, p] of Object.entries(ENCODER_PRESETS)) if (JSON.stringify(p) === JSON.stringify(cfg)) return name;
  return 'custom';
}

/**
 * Refuse (EmolabError, stage 'train') a configuration whose estimated step memory exceeds the
 * backend's limit, naming the largest batch size, the longest frames and the encoder presets that fit.
 * Returns the estimate when it fits.
 */
export function checkTrainingFits(input: TrainingFitInput): TrainingFit {
  const limit = input.limitBytes ?? heapLimitBytes(input.backend);
  const est = estimateTrainingMemory(input);
  if (est.bytes <= limit) return { ...est, limitBytes: limit };
  const fits = (over: Partial<TrainingMemoryInput>) => estimateTrainingMemory({ ...input, ...over }).bytes <= limit;
  const B = input.batchSize;
  const T = Math.ceil(input.frames);
  let bFit = 0;
  for (let b = B - 1; b >= 1; b--) if (fits({ batchSize: b })) { bFit = b; break; }
  // Longest frames that fit at this batch (the estimate grows with frames): bisection.
  let lo = 0;
  let hi = T;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits({ frames: mid })) lo = mid; else hi = mid;
  }
  const smaller = (Object.keys(ENCODER_PRESETS) as EncoderPreset[])
    .filter((p) => presetName(input.encoder) !== p && fits({ encoder: ENCODER_PRESETS[p] }));
  const name = presetName(input.encoder);
  const s = input.settingNames;
  const parts = [
    bFit > 0 ? `lower ${s.batchSize} (${B} -> ${bFit} fits)` : `lower ${s.batchSize} (not even batch 1 fits at ${T} frames)`,
    lo > 0 ? `cap ${s.frames} (at batch ${B}: clips up to ${lo} frames, ${lo * B} padded frames per batch, fit)` : `cap ${s.frames}`,
    smaller.length ? `or use a smaller encoder via ${s.encoder} (${smaller.join(', ')} fits)` : `or use a smaller encoder via ${s.encoder}`,
  ];
  throw new EmolabError('train',
    `${input.what}: the ${name} encoder at batch ${B} x ${T} frames needs about ${gib(est.bytes)} GiB on ${input.backend}, more than the ${gib(limit)} GiB its heap can use`,
    { hint: parts.join(', ') });
}
