/**
 * Kaldi-compatible log-mel filterbank and MFCC, computed exactly like torchaudio.compliance.kaldi.fbank / mfcc
 * (which match Kaldi's compute-fbank-feats / compute-mfcc-feats):
 *   frames of 25 ms every 10 ms with snip_edges (only frames that fit), input scaled by 32768, dither 0,
 *   per-frame DC removal, pre-emphasis 0.97 (first sample against itself), Povey window (Hann^0.85),
 *   zero-padding to the next power of two, power spectrum, triangular mel filters on Kaldi's mel scale
 *   (1127 ln(1 + f/700)) between low 20 Hz and high 0 (= Nyquist; negative = offset from Nyquist),
 *   log with floor float32 epsilon. MFCC: DCT-II (orthonormal, C0 scaled by sqrt(1/N)) of the log-mel energies,
 *   then cepstral liftering 1 + L/2 sin(pi i / L).
 * FFT: fft.js (radix-4 real transform); tfjs has no FFT on wasm. A hand-written split-array radix-2 real FFT was
 * measured 2x slower than fft.js here (512 points), so fft.js stays.
 * Arithmetic is float64 (torchaudio runs float32), so results agree to ~1e-4 on the log scale.
 */
import FFT from 'fft.js';
import { type FeatureMatrix, featureMatrix } from './matrix';

export type WindowType = 'povey' | 'hamming' | 'hanning' | 'rectangular' | 'blackman';

export interface KaldiFrameOptions {
  sampleRate?: number;       // 16000
  frameLengthMs?: number;    // 25
  frameShiftMs?: number;     // 10
  /** Multiplies the [-1, 1] input first (Kaldi reads int16 wavs): 32768. */
  inputScale?: number;
  preemphasis?: number;      // 0.97
  removeDc?: boolean;        // true
  windowType?: WindowType;   // 'povey'
  blackmanCoeff?: number;    // 0.42
  roundToPowerOfTwo?: boolean; // true
}

export interface KaldiFbankOptions extends KaldiFrameOptions {
  numMelBins?: number;  // 80 for fbank (torchaudio's default is 23)
  lowFreq?: number;     // 20
  highFreq?: number;    // 0 = Nyquist; negative = offset from Nyquist
  usePower?: boolean;   // true
  useLog?: boolean;     // true
}

export interface KaldiMfccOptions extends KaldiFbankOptions {
  numCeps?: number;        // 13
  cepstralLifter?: number; // 22
}

/** float32 machine epsilon: Kaldi's floor before log. */
export const FLOAT32_EPS = 1.1920928955078125e-7;

export interface FrameGeometry { windowSize: number; windowShift: number; paddedSize: number }

export function frameGeometry(o: KaldiFrameOptions = {}): FrameGeometry {
  const sr = o.sampleRate ?? 16000;
  const windowShift = Math.trunc(sr * (o.frameShiftMs ?? 10) * 0.001);
  const windowSize = Math.trunc(sr * (o.frameLengthMs ?? 25) * 0.001);
  const paddedSize = (o.roundToPowerOfTwo ?? true) ? nextPowerOfTwo(windowSize) : windowSize;
  if (windowSize < 2 || windowShift < 1) throw new RangeError(`frame length ${windowSize} / shift ${windowShift} samples are too small`);
  if (paddedSize % 2 !== 0) throw new RangeError('padded window size must be even (use roundToPowerOfTwo)');
  return { windowSize, windowShift, paddedSize };
}

export function nextPowerOfTwo(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

/** Frames with snip_edges: 0 when the signal is shorter than one window. */
export function numFrames(numSamples: number, windowSize: number, windowShift: number): number {
  return numSamples < windowSize ? 0 : 1 + Math.floor((numSamples - windowSize) / windowShift);
}

export function windowFunction(type: WindowType, n: number, blackmanCoeff = 0.42): Float64Array {
  const w = new Float64Array(n);
  const a = (2 * Math.PI) / (n - 1);
  for (let i = 0; i < n; i++) {
    const hann = 0.5 - 0.5 * Math.cos(a * i);
    switch (type) {
      case 'povey': w[i] = Math.pow(hann, 0.85); break;
      case 'hanning': w[i] = hann; break;
      case 'hamming': w[i] = 0.54 - 0.46 * Math.cos(a * i); break;
      case 'rectangular': w[i] = 1; break;
      case 'blackman': w[i] = blackmanCoeff - 0.5 * Math.cos(a * i) + (0.5 - blackmanCoeff) * Math.cos(2 * a * i); break;
    }
  }
  return w;
}

export const melScale = (f: number): number => 1127 * Math.log(1 + f / 700);
export const inverseMelScale = (m: number): number => 700 * (Math.exp(m / 1127) - 1);

/** One triangular filter as a dense run of weights starting at FFT bin `start`. */
export interface MelFilter { start: number; weights: Float64Array }

/** Kaldi mel filters over FFT bins 0 .. paddedSize/2 - 1 (the Nyquist bin gets weight 0, as in torchaudio). */
export function melBanks(numBins: number, paddedSize: number, sampleRate: number, lowFreq = 20, highFreq = 0): MelFilter[] {
  if (numBins <= 3) throw new RangeError('need at least 4 mel bins');
  const nyquist = 0.5 * sampleRate;
  const high = highFreq <= 0 ? highFreq + nyquist : highFreq;
  if (!(lowFreq >= 0 && lowFreq < nyquist && high > 0 && high <= nyquist && lowFreq < high)) {
    throw new RangeError(`bad mel range: low ${lowFreq} Hz, high ${high} Hz, Nyquist ${nyquist} Hz`);
  }
  const numFftBins = paddedSize / 2;
  const binWidth = sampleRate / paddedSize;
  const melLow = melScale(lowFreq);
  const melDelta = (melScale(high) - melLow) / (numBins + 1);
  const filters: MelFilter[] = [];
  for (let b = 0; b < numBins; b++) {
    const left = melLow + b * melDelta, center = melLow + (b + 1) * melDelta, right = melLow + (b + 2) * melDelta;
    const w: number[] = [];
    let start = -1;
    for (let k = 0; k < numFftBins; k++) {
      const mel = melScale(binWidth * k);
      const v = Math.max(0, Math.min((mel - left) / (center - left), (right - mel) / (right - center)));
      if (v > 0) {
        if (start < 0) start = k;
        // fill any zero gap (cannot happen for a triangle, kept for safety)
        while (start + w.length < k) w.push(0);
        w.push(v);
      }
    }
    filters.push({ start: Math.max(start, 0), weights: Float64Array.from(w) });
  }
  return filters;
}

/** Orthonormal DCT-II columns as Kaldi/torchaudio use them: dct[n][k] for n < numMel, k < numCeps. */
export function dctMatrix(numCeps: number, numMel: number): Float64Array {
  const m = new Float64Array(numMel * numCeps);
  for (let n = 0; n < numMel; n++) {
    for (let k = 0; k < numCeps; k++) {
      m[n * numCeps + k] = k === 0 ? Math.sqrt(1 / numMel) : Math.sqrt(2 / numMel) * Math.cos((Math.PI / numMel) * (n + 0.5) * k);
    }
  }
  return m;
}

export function lifterCoefficients(numCeps: number, lifter: number): Float64Array {
  const c = new Float64Array(numCeps);
  for (let i = 0; i < numCeps; i++) c[i] = lifter === 0 ? 1 : 1 + 0.5 * lifter * Math.sin((Math.PI * i) / lifter);
  return c;
}

/**
 * A reusable Kaldi front-end: window, mel filters and FFT tables are built once and reused for every
 * signal of the same configuration (`kaldiFbank` keeps a small cache of these).
 */
export class KaldiFbank {
  readonly geometry: FrameGeometry;
  readonly numMelBins: number;
  private readonly opts: Required<Pick<KaldiFbankOptions, 'inputScale' | 'preemphasis' | 'removeDc' | 'usePower' | 'useLog'>>;
  private readonly window: Float64Array;
  private readonly filters: MelFilter[];
  /** The filters flattened: weights of filter b are melWeights[melOffset[b] ..] applied from FFT bin melStart[b]. */
  private readonly melStart: Int32Array;
  private readonly melLength: Int32Array;
  private readonly melOffset: Int32Array;
  private readonly melWeights: Float64Array;
  private readonly fft: FFT;
  private readonly frame: Float64Array;
  private readonly spectrum: Float64Array;
  private readonly power: Float64Array;

  constructor(o: KaldiFbankOptions = {}) {
    this.geometry = frameGeometry(o);
    const sr = o.sampleRate ?? 16000;
    this.numMelBins = o.numMelBins ?? 80;
    this.opts = { inputScale: o.inputScale ?? 32768, preemphasis: o.preemphasis ?? 0.97, removeDc: o.removeDc ?? true, usePower: o.usePower ?? true, useLog: o.useLog ?? true };
    if (!(this.opts.preemphasis >= 0 && this.opts.preemphasis <= 1)) throw new RangeError('preemphasis must be in [0, 1]');
    this.window = windowFunction(o.windowType ?? 'povey', this.geometry.windowSize, o.blackmanCoeff);
    this.filters = melBanks(this.numMelBins, this.geometry.paddedSize, sr, o.lowFreq ?? 20, o.highFreq ?? 0);
    this.melStart = Int32Array.from(this.filters, (f) => f.start);
    this.melLength = Int32Array.from(this.filters, (f) => f.weights.length);
    this.melOffset = new Int32Array(this.filters.length);
    for (let b = 1; b < this.filters.length; b++) this.melOffset[b] = this.melOffset[b - 1] + this.melLength[b - 1];
    this.melWeights = new Float64Array(this.filters.reduce((n, f) => n + f.weights.length, 0));
    this.filters.forEach((f, b) => this.melWeights.set(f.weights, this.melOffset[b]));
    this.fft = new FFT(this.geometry.paddedSize);
    this.frame = new Float64Array(this.geometry.paddedSize); // samples W.. stay 0 (zero padding)
    this.spectrum = new Float64Array(2 * this.geometry.paddedSize);
    this.power = new Float64Array(this.geometry.paddedSize / 2 + 1);
  }

  /** Log-mel energies [frames, numMelBins]; 0 frames when the signal is shorter than one window. */
  compute(signal: Float32Array): FeatureMatrix {
    const { windowSize: W, windowShift, paddedSize } = this.geometry;
    const { inputScale, preemphasis: p, removeDc, usePower, useLog } = this.opts;
    const T = numFrames(signal.length, W, windowShift);
    const M = this.numMelBins;
    const out = featureMatrix(T, M);
    const x = this.frame, spec = this.spectrum, pow = this.power, win = this.window;
    const { melStart, melLength, melOffset, melWeights } = this;
    const half = paddedSize / 2;
    for (let t = 0; t < T; t++) {
      const off = t * windowShift;
      // One pass to copy and sum, one backward pass for DC removal + pre-emphasis + window (all linear, so
      // the x32768 input scale is applied once at the end as a factor scale^2 on the power).
      let sum = 0;
      for (let i = 0; i < W; i++) { const v = signal[off + i]; x[i] = v; sum += v; }
      const mean = removeDc ? sum / W : 0;
      for (let i = W - 1; i > 0; i--) x[i] = (x[i] - mean - p * (x[i - 1] - mean)) * win[i];
      x[0] = (x[0] - mean) * (1 - p) * win[0];
      this.fft.realTransform(spec, x);
      const scale2 = inputScale * inputScale;
      if (usePower) {
        for (let k = 0; k <= half; k++) { const re = spec[2 * k], im = spec[2 * k + 1]; pow[k] = (re * re + im * im) * scale2; }
      } else {
        for (let k = 0; k <= half; k++) { const re = spec[2 * k], im = spec[2 * k + 1]; pow[k] = Math.sqrt(re * re + im * im) * inputScale; }
      }
      const base = t * M;
      for (let b = 0; b < M; b++) {
        const start = melStart[b], len = melLength[b], wo = melOffset[b];
        let e = 0;
        for (let j = 0; j < len; j++) e += melWeights[wo + j] * pow[start + j];
        out.data[base + b] = useLog ? Math.log(e > FLOAT32_EPS ? e : FLOAT32_EPS) : e;
      }
    }
    return out;
  }
}

const cache = new Map<string, KaldiFbank>();
function cachedFbank(o: KaldiFbankOptions): KaldiFbank {
  const key = JSON.stringify(o);
  let f = cache.get(key);
  if (!f) {
    if (cache.size > 16) cache.clear();
    f = new KaldiFbank(o);
    cache.set(key, f);
  }
  return f;
}

/**
 * Kaldi log-mel filterbank of a [-1, 1] signal: [frames, numMelBins] (default 80 bins, 25 ms / 10 ms).
 * Same as `torchaudio.compliance.kaldi.fbank(x * 32768, num_mel_bins=80, dither=0)`.
 */
export function kaldiFbank(signal: Float32Array, opts: KaldiFbankOptions = {}): FeatureMatrix {
  return cachedFbank(opts).compute(signal);
}

/**
 * Kaldi MFCC of a [-1, 1] signal: [frames, numCeps] (default 13 cepstra from 23 mel bins, lifter 22).
 * Same as `torchaudio.compliance.kaldi.mfcc(x * 32768, num_ceps=13, num_mel_bins=23, dither=0)`.
 */
export function kaldiMfcc(signal: Float32Array, opts: KaldiMfccOptions = {}): FeatureMatrix {
  const numMel = opts.numMelBins ?? 23;
  const numCeps = opts.numCeps ?? 13;
  if (numCeps > numMel) throw new RangeError(`numCeps ${numCeps} > numMelBins ${numMel}`);
  const { numCeps: _c, cepstralLifter, ...fbankOpts } = opts;
  const fb = kaldiFbank(signal, { ...fbankOpts, numMelBins: numMel, usePower: true, useLog: true });
  const dct = dctMatrix(numCeps, numMel);
  const lift = lifterCoefficients(numCeps, cepstralLifter ?? 22);
  const out = featureMatrix(fb.frames, numCeps);
  for (let t = 0; t < fb.frames; t++) {
    for (let k = 0; k < numCeps; k++) {
      let s = 0;
      for (let n = 0; n < numMel; n++) s += fb.data[t * numMel + n] * dct[n * numCeps + k];
      out.data[t * numCeps + k] = s * lift[k];
    }
  }
  return out;
}
