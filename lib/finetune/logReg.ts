/**
 * Multinomial logistic regression (softmax, L2) by full-batch L-BFGS in Float64 — the classifier of the
 * functionals reference row (./functionals). Objective (scikit-learn's convention, intercept
 * unpenalised): C * sum_i w_i CE_i + ||W||^2 / 2, minimised divided by C n, from zero weights (or
 * `init`): deterministic, no tfjs, no random numbers.
 */
import { EmolabError } from '../errors';

export interface LogRegOptions {
  /** Stop when the largest |gradient| of the (C n)-scaled objective falls below this (default 1e-6). */
  tol?: number;
  /** L-BFGS iterations at most (default 2000). */
  maxIter?: number;
  /** L-BFGS memory (default 10). */
  memory?: number;
  /** Starting point [W (classes x dims), b] (default zeros); e.g. the solution of a neighbouring C. */
  init?: { W: Float64Array; b: Float64Array };
  /** 'balanced': class weights n / (k n_c), as scikit-learn; 'none' (default): every clip counts 1. */
  classWeight?: 'none' | 'balanced';
}

export interface LogRegModel {
  classes: number;
  dims: number;
  C: number;
  /** Weights, row-major [classes][dims]. */
  W: Float64Array;
  b: Float64Array;
  iterations: number;
  converged: boolean;
  /** Final objective (mean weighted cross-entropy + ||W||^2 / (2 C n)) and max |gradient|. */
  loss: number;
  gradMax: number;
}

function logits(W: Float64Array, b: Float64Array, k: number, d: number, x: Float64Array, z: Float64Array): void {
  for (let c = 0; c < k; c++) {
    let s = b[c];
    const off = c * d;
    for (let j = 0; j < d; j++) s += W[off + j] * x[j];
    z[c] = s;
  }
}

/** Softmax in place (max-shifted); returns log-sum-exp. */
function softmaxInPlace(z: Float64Array): number {
  let m = -Infinity;
  for (const v of z) if (v > m) m = v;
  let s = 0;
  for (let c = 0; c < z.length; c++) { z[c] = Math.exp(z[c] - m); s += z[c]; }
  for (let c = 0; c < z.length; c++) z[c] /= s;
  return m + Math.log(s);
}

/** Buffers and data of one fit (kept together so that `lrObjective` is a plain top-level function the JIT optimises well). */
interface LrProblem { n: number; d: number; k: number; kd: number; Xf: Float64Array; y: Int32Array; wn: Float64Array; lam: number; z: Float64Array; R: Float64Array }

/** Objective (mean weighted CE + lam ||W||^2 / 2) and its gradient at theta = [W row-major [k][d], b [k]]. */
function lrObjective(pr: LrProblem, theta: Float64Array, grad: Float64Array): number {
  const { n, d, k, kd, Xf, y, wn, lam, z, R } = pr;
  let f = 0;
  // logits, loss and residuals r_ic = w_i (p_ic - [y_i = c]) / n
  for (let i = 0; i < n; i++) {
    const xo = i * d;
    let zmax = -Infinity;
    for (let c = 0; c < k; c++) {
      const wo = c * d;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let j = 0;
      for (; j + 3 < d; j += 4) {
        s0 += theta[wo + j] * Xf[xo + j];
        s1 += theta[wo + j + 1] * Xf[xo + j + 1];
        s2 += theta[wo + j + 2] * Xf[xo + j + 2];
        s3 += theta[wo + j + 3] * Xf[xo + j + 3];
      }
      for (; j < d; j++) s0 += theta[wo + j] * Xf[xo + j];
      const s = theta[kd + c] + ((s0 + s1) + (s2 + s3));
      z[c] = s;
      if (s > zmax) zmax = s;
    }
    const yi = y[i];
    const zy = z[yi];
    let sum = 0;
    for (let c = 0; c < k; c++) { z[c] = Math.exp(z[c] - zmax); sum += z[c]; }
    const wi = wn[i];
    f += wi * (zmax + Math.log(sum) - zy);
    for (let c = 0; c < k; c++) R[i * k + c] = wi * (z[c] / sum - (c === yi ? 1 : 0));
  }
  // gradient = R^T X (+ intercept sums), two classes per pass over a row
  grad.fill(0);
  for (let i = 0; i < n; i++) {
    const xo = i * d;
    const ro = i * k;
    let c = 0;
    for (; c + 1 < k; c += 2) {
      const r0 = R[ro + c], r1 = R[ro + c + 1];
      const g0 = c * d, g1 = g0 + d;
      for (let j = 0; j < d; j++) { const x = Xf[xo + j]; grad[g0 + j] += r0 * x; grad[g1 + j] += r1 * x; }
    }
    if (c < k) {
      const r0 = R[ro + c];
      const g0 = c * d;
      for (let j = 0; j < d; j++) grad[g0 + j] += r0 * Xf[xo + j];
    }
    for (let cc = 0; cc < k; cc++) grad[kd + cc] += R[ro + cc];
  }
  for (let j = 0; j < kd; j++) { f += 0.5 * lam * theta[j] * theta[j]; grad[j] += lam * theta[j]; }
  return f;
}

/**
 * Fit softmax regression with L2 penalty on the weights (not the intercepts):
 * minimise  (1/n) sum_i w_i CE_i + ||W||^2 / (2 C n)  (= scikit-learn's C sum CE + ||W||^2/2, scaled)
 * by L-BFGS with a backtracking (Armijo) line search, from zero (or `init`). Deterministic.
 */
export function fitLogReg(X: readonly Float64Array[], y: readonly number[], classes: number, C: number, opts: LogRegOptions = {}): LogRegModel {
  const n = X.length;
  if (n === 0) throw new EmolabError('eval', 'logistic regression: no training rows');
  if (y.length !== n) throw new EmolabError('eval', `logistic regression: ${n} rows but ${y.length} labels`);
  if (!(C > 0)) throw new EmolabError('eval', `logistic regression: C must be > 0, got ${C}`);
  const d = X[0].length;
  const k = classes;
  for (const c of y) if (!Number.isInteger(c) || c < 0 || c >= k) throw new EmolabError('eval', `logistic regression: label ${c} outside [0, ${k})`);
  const tol = opts.tol ?? 1e-6;
  const maxIter = opts.maxIter ?? 2000;
  const mem = opts.memory ?? 10;
  const counts = new Array<number>(k).fill(0);
  for (const c of y) counts[c]++;
  const weight = y.map((c) => (opts.classWeight === 'balanced' ? n / (k * counts[c]) : 1));
  const P = k * d + k;
  const lam = 1 / (C * n);

  // rows packed into one buffer; weights per row pre-divided by n
  const Xf = new Float64Array(n * d);
  X.forEach((r, i) => {
    if (r.length !== d) throw new EmolabError('eval', `logistic regression: rows differ in length (${d} vs ${r.length})`);
    Xf.set(r, i * d);
  });
  const wn = Float64Array.from(weight, (w) => w / n);
  const z = new Float64Array(k);
  const kd = k * d;
  const pr: LrProblem = { n, d, k, kd, Xf, y: Int32Array.from(y), wn, lam, z, R: new Float64Array(n * k) };
  const evaluate = (theta: Float64Array, grad: Float64Array): number => lrObjective(pr, theta, grad);
  const dot = (a: Float64Array, b: Float64Array): number => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };
  const maxAbs = (a: Float64Array): number => { let m = 0; for (const v of a) if (Math.abs(v) > m) m = Math.abs(v); return m; };

  let theta = new Float64Array(P);
  if (opts.init) {
    if (opts.init.W.length !== k * d || opts.init.b.length !== k) throw new EmolabError('eval', 'logistic regression: init has the wrong shape');
    theta.set(opts.init.W, 0);
    theta.set(opts.init.b, k * d);
  }
  let g = new Float64Array(P);
  let f = evaluate(theta, g);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const dir = new Float64Array(P);
  const alpha = new Array<number>(mem).fill(0);
  let iter = 0;
  let converged = maxAbs(g) < tol;
  const thetaNew = new Float64Array(P);
  const gNew = new Float64Array(P);
  while (!converged && iter < maxIter) {
    iter++;
    // two-loop recursion: dir = -H g
    for (let i = 0; i < P; i++) dir[i] = -g[i];
    const m = S.length;
    for (let h = m - 1; h >= 0; h--) { alpha[h] = rho[h] * dot(S[h], dir); for (let i = 0; i < P; i++) dir[i] -= alpha[h] * Y[h][i]; }
    if (m > 0) {
      const gamma = dot(S[m - 1], Y[m - 1]) / dot(Y[m - 1], Y[m - 1]);
      for (let i = 0; i < P; i++) dir[i] *= gamma;
    } else {
      const s = 1 / Math.max(1, Math.sqrt(dot(g, g)));
      for (let i = 0; i < P; i++) dir[i] *= s;
    }
    for (let h = 0; h < m; h++) { const beta = rho[h] * dot(Y[h], dir); for (let i = 0; i < P; i++) dir[i] += (alpha[h] - beta) * S[h][i]; }
    let gd = dot(g, dir);
    if (!(gd < 0)) { // not a descent direction (numerical trouble): restart from steepest descent
      S.length = 0; Y.length = 0; rho.length = 0;
      const s = 1 / Math.max(1, Math.sqrt(dot(g, g)));
      for (let i = 0; i < P; i++) dir[i] = -g[i] * s;
      gd = dot(g, dir);
    }
    // backtracking Armijo line search
    let step = 1;
    let fNew = Infinity;
    let accepted = false;
    for (let ls = 0; ls < 40; ls++) {
      for (let i = 0; i < P; i++) thetaNew[i] = theta[i] + step * dir[i];
      fNew = evaluate(thetaNew, gNew);
      if (fNew <= f + 1e-4 * step * gd) { accepted = true; break; }
      step *= 0.5;
    }
    if (!accepted) break; // no progress possible at Float64 precision
    const sv = new Float64Array(P);
    const yv = new Float64Array(P);
    for (let i = 0; i < P; i++) { sv[i] = thetaNew[i] - theta[i]; yv[i] = gNew[i] - g[i]; }
    const sy = dot(sv, yv);
    if (sy > 1e-12 * Math.sqrt(dot(sv, sv) * dot(yv, yv))) {
      if (S.length === mem) { S.shift(); Y.shift(); rho.shift(); }
      S.push(sv); Y.push(yv); rho.push(1 / sy);
    }
    const fOld = f;
    [theta, g] = [Float64Array.from(thetaNew), Float64Array.from(gNew)];
    f = fNew;
    if (maxAbs(g) < tol) converged = true;
    else if (Math.abs(fOld - f) <= 1e-15 * Math.max(1, Math.abs(f))) break; // stalled at machine precision
  }
  return { classes: k, dims: d, C, W: theta.slice(0, k * d), b: theta.slice(k * d), iterations: iter, converged, loss: f, gradMax: maxAbs(g) };
}

/** Class probabilities [n][classes] of (already standardised) rows. */
export function logRegProbs(model: LogRegModel, X: readonly Float64Array[]): number[][] {
  const z = new Float64Array(model.classes);
  return X.map((x) => {
    if (x.length !== model.dims) throw new EmolabError('eval', `row has ${x.length} features, the model ${model.dims}`);
    logits(model.W, model.b, model.classes, model.dims, x, z);
    softmaxInPlace(z);
    return Array.from(z);
  });
}
