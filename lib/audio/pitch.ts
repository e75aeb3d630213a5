/**
 * F0 and voicing with YIN (de Cheveigné & Kawahara, JASA 2002): difference function, cumulative mean
 * normalised difference (CMND), absolute threshold (0.15, then a looser 0.3 voicing threshold), parabolic
 * interpolation of the chosen lag.
 * Frames are on the same 10 ms snip-edges grid as the Kaldi filterbank (frame t starts at sample t*hop;
 * the same number of frames), each frame integrating `frameLengthMs` of signal plus the longest lag.
 *
 * Speed: the signal is first low-passed (windowed-sinc FIR, cutoff 0.85 x the new Nyquist) and decimated to
 * `analysisRate` (8 kHz by default; speech F0 < 500 Hz needs far less; on EmoDB 99.9% of frames voiced in both
 * agree within 5% with a 16 kHz analysis). Lag products are summed once per block of samples shared by the
 * overlapping frames, so the cost is samples x maxLag, ~2.5x less than summing each frame directly, and in
 * measurements faster than an FFT cross-correlation per frame with fft.js (two 512-point complex FFTs per frame).
 */
import { frameGeometry, numFrames } from './kaldi';

export interface PitchTrack {
  /** F0 in Hz per frame; 0 where unvoiced. */
  f0: Float32Array;
  /** Periodicity 1 - CMND(best lag), in [0, 1]. */
  periodicity: Float32Array;
  /** 1 where voiced, 0 where not. */
  voiced: Uint8Array;
}

export interface YinOptions {
  sampleRate?: number;     // 16000
  frameLengthMs?: number;  // 25: integration window W
  frameShiftMs?: number;   // 10
  /** Search range in Hz: 60 .. 500 (covers adult male to high female/child speech). */
  fminHz?: number;
  fmaxHz?: number;
  /** CMND threshold of YIN's absolute-threshold step (the first dip below it wins): 0.15. */
  threshold?: number;
  /**
   * Second, looser threshold: when no dip reaches `threshold`, the first dip below this one is taken and the frame
   * still counts as voiced (irregular or breathy phonation, fast F0 changes in emotional speech): 0.3.
   */
  voicingThreshold?: number;
  /** Frames quieter than this RMS (dBFS) are unvoiced without analysis: -50. */
  silenceDb?: number;
  /**
   * Rate the analysis runs at (an integer divisor of sampleRate, else sampleRate): 8000. Measured on a quarter of
   * EmoDB against a 16 kHz analysis: 8 kHz agrees within 5% on 99.0% of frames voiced in both (voicing differs on
   * 2.5% of frames); 4 kHz runs 2.2x faster but agrees on 97.5% (voicing differs on 5%).
   */
  analysisRate?: number;
}

export interface PitchTrack {
  /** F0 in Hz per frame; 0 where unvoiced. */
  f0: Float32Array;
  /** Periodicity 1 - CMND(best lag), in [0, 1]; 0 for silent frames. */
  periodicity: Float32Array;
  /** 1 where voiced, 0 where not. */
  voiced: Uint8Array;
}

/** Windowed-sinc (Hamming) low-pass FIR taps; `cutoff` in cycles per sample (< 0.5). */
export function lowpassTaps(cutoff: number, numTaps: number): Float64Array {
  const h = new Float64Array(numTaps);
  const mid = (numTaps - 1) / 2;
  let sum = 0;
  for (let i = 0; i < numTaps; i++) {
    const n = i - mid;
    const sinc = n === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * n) / (Math.PI * n);
    h[i] = sinc * (0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (numTaps - 1)));
    sum += h[i];
  }
  for (let i = 0; i < numTaps; i++) h[i] /= sum; // unity gain at DC
  return h;
}

/** Low-pass and keep every `factor`-th sample (zero-phase: output n is centred on input n * factor). */
export function decimate(x: Float32Array, factor: number, numTaps = 31): Float64Array {
  const n = Math.ceil(x.length / factor);
  const out = new Float64Array(n);
  if (factor === 1) { for (let i = 0; i < n; i++) out[i] = x[i]; return out; }
  const h = lowpassTaps((0.5 / factor) * 0.85, numTaps);
  const mid = (numTaps - 1) >> 1;
  for (let o = 0; o < n; o++) {
    const c = o * factor;
    let acc = 0;
    if (c - mid >= 0 && c + mid < x.length) {
      for (let k = 0; k < numTaps; k++) acc += h[k] * x[c - mid + k];
    } else {
      for (let k = 0; k < numTaps; k++) { const j = c - mid + k; if (j >= 0 && j < x.length) acc += h[k] * x[j]; }
    }
    out[o] = acc;
  }
  return out;
}

/** YIN F0 track on the 10 ms Kaldi frame grid (same frame count as kaldiFbank). */
export function yinPitch(signal: Float32Array, opts: YinOptions = {}): PitchTrack {
  const sr0 = opts.sampleRate ?? 16000;
  const { windowSize: grid, windowShift: hop0 } = frameGeometry({ sampleRate: sr0, frameShiftMs: opts.frameShiftMs, frameLengthMs: 25 });
  const T = numFrames(signal.length, grid, hop0);
  const f0 = new Float32Array(T), periodicity = new Float32Array(T), voiced = new Uint8Array(T);
  if (T === 0) return { f0, periodicity, voiced };

  const wantRate = opts.analysisRate ?? 8000;
  const factor = wantRate > 0 && sr0 % wantRate === 0 && hop0 % (sr0 / wantRate) === 0 ? sr0 / wantRate : 1;
  const sr = sr0 / factor;
  const hop = hop0 / factor;
  const W = Math.trunc(sr * (opts.frameLengthMs ?? 25) * 0.001);
  const fmin = opts.fminHz ?? 60, fmax = opts.fmaxHz ?? 500;
  if (!(fmin > 0 && fmax > fmin && fmax < sr / 2)) throw new RangeError(`bad F0 range ${fmin}..${fmax} Hz at ${sr} Hz analysis rate`);
  const tauMin = Math.max(2, Math.floor(sr / fmax));
  const tauMax = Math.min(Math.ceil(sr / fmin), W);
  const threshold = opts.threshold ?? 0.15;
  const voicingThreshold = Math.max(threshold, opts.voicingThreshold ?? 0.3);
  const silencePow = Math.pow(10, (opts.silenceDb ?? -50) / 10);

  // Decimated signal, zero-padded so every frame has W + tauMax samples (+ 7 spare lags for the unrolled loop).
  const dec = decimate(signal, factor);
  const span = (T - 1) * hop + W; // every frame lies in x[0, span)
  const L = span + tauMax + 8;
  const x = new Float64Array(L);
  x.set(dec.subarray(0, Math.min(dec.length, L)));
  // Prefix sum of squares: frame energies (silence gate) and the energy terms of d(tau).
  const sq = new Float64Array(L + 1);
  for (let n = 0; n < L; n++) sq[n + 1] = sq[n] + x[n] * x[n];
  const loud = new Uint8Array(T);
  for (let t = 0; t < T; t++) loud[t] = (sq[t * hop + W] - sq[t * hop]) / W >= silencePow ? 1 : 0;

  // d[t, tau] = sum_{j<W} (x_{o+j} - x_{o+j+tau})^2 = e(o, o+W) + e(o+tau, o+tau+W) - 2 r_t(tau), with o = t*hop.
  // The lag products r are summed per block of B = gcd(hop, W) samples (every frame boundary is a block
  // boundary), eight lags at a time (independent accumulators sharing the load of x_n: measured 1.4x faster than
  // summing squared differences four lags at a time), and each frame adds up its W / B blocks.
  const stride = tauMax + 1;
  const d = new Float64Array(T * stride);
  const B = gcd(hop, W);
  const nb = span / B;
  const hb = hop / B, wb = W / B;
  // Only blocks under a non-silent frame are needed (silent frames are unvoiced without analysis).
  const needBlock = new Uint8Array(nb);
  for (let t = 0; t < T; t++) if (loud[t]) needBlock.fill(1, t * hb, t * hb + wb);
  const P = Array.from({ length: 8 }, () => new Float64Array(nb + 1));
  const [p0, p1, p2, p3, p4, p5, p6, p7] = P;
  for (let tau = 1; tau <= tauMax; tau += 8) {
    for (let k = 0, n0 = 0; k < nb; k++, n0 += B) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
      if (needBlock[k]) {
        for (let n = n0, end = n0 + B; n < end; n++) {
          const xn = x[n], m = n + tau;
          s0 += xn * x[m]; s1 += xn * x[m + 1]; s2 += xn * x[m + 2]; s3 += xn * x[m + 3];
          s4 += xn * x[m + 4]; s5 += xn * x[m + 5]; s6 += xn * x[m + 6]; s7 += xn * x[m + 7];
        }
      }
      p0[k + 1] = p0[k] + s0; p1[k + 1] = p1[k] + s1; p2[k + 1] = p2[k] + s2; p3[k + 1] = p3[k] + s3;
      p4[k + 1] = p4[k] + s4; p5[k + 1] = p5[k] + s5; p6[k + 1] = p6[k] + s6; p7[k + 1] = p7[k] + s7;
    }
    for (let j = 0; j < 8 && tau + j <= tauMax; j++) {
      const pj = P[j], lag = tau + j;
      for (let t = 0, kb = 0, o = 0; t < T; t++, kb += hb, o += hop) {
        const e1 = sq[o + W] - sq[o], e2 = sq[o + lag + W] - sq[o + lag];
        d[t * stride + lag] = e1 + e2 - 2 * (pj[kb + wb] - pj[kb]);
      }
    }
  }

  const cmnd = new Float64Array(stride);
  for (let t = 0; t < T; t++) {
    if (!loud[t]) continue; // silence: unvoiced, f0 0, periodicity 0
    const base = t * stride;
    cmnd[0] = 1;
    let running = 0;
    for (let tau = 1; tau <= tauMax; tau++) {
      const v = Math.max(0, d[base + tau]);
      running += v;
      cmnd[tau] = running > 0 ? (v * tau) / running : 1;
    }
    // First dip below `threshold` (then below `voicingThreshold`), followed down to its local minimum; otherwise
    // the global minimum, unvoiced.
    let best = -1;
    for (const th of threshold === voicingThreshold ? [threshold] : [threshold, voicingThreshold]) {
      for (let tau = tauMin; tau <= tauMax; tau++) {
        if (cmnd[tau] < th) {
          while (tau + 1 <= tauMax && cmnd[tau + 1] < cmnd[tau]) tau++;
          best = tau;
          break;
        }
      }
      if (best >= 0) break;
    }
    let isVoiced = best >= 0 && best < tauMax;
    if (best < 0) {
      best = tauMin;
      for (let tau = tauMin + 1; tau <= tauMax; tau++) if (cmnd[tau] < cmnd[best]) best = tau;
    }
    let refined = best;
    if (best > 1 && best < tauMax) {
      const a = cmnd[best - 1], b = cmnd[best], c = cmnd[best + 1];
      const den = a - 2 * b + c;
      if (den > 0) refined = best + (0.5 * (a - c)) / den;
    }
    periodicity[t] = Math.min(1, Math.max(0, 1 - cmnd[best]));
    if (isVoiced) {
      const hz = sr / refined;
      if (hz >= fmin * 0.9 && hz <= fmax * 1.1) { voiced[t] = 1; f0[t] = hz; } else isVoiced = false;
    }
  }
  return { f0, periodicity, voiced };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
