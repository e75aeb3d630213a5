/**
 * Principal component analysis for looking at embeddings in 2-D: centre the rows, form the
 * covariance (d x d, in float64), and take its leading eigenvectors by power iteration with
 * deflation (deterministic start vectors, so the same input gives the same projection). Fine for
 * the few-hundred-dimensional embeddings of this project; not meant for d in the thousands.
 */
export interface PcaResult {
  /** [n][k] coordinates of each row on the components. */
  projected: number[][];
  /** [k][d] unit component vectors. */
  components: number[][];
  /** Variance along each component. */
  variances: number[];
  /** Share of total variance along each component. */
  explained: number[];
  mean: number[];
}

export function pca(rows: ArrayLike<number>[], k = 2, iterations = 200): PcaResult {
  const n = rows.length;
  if (n === 0) return { projected: [], components: [], variances: [], explained: [], mean: [] };
  const d = rows[0].length;
  const mean = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] += r[j] / n;
  const cov = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (const r of rows) {
    for (let j = 0; j < d; j++) c[j] = r[j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ca = c[a];
      if (ca === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += ca * c[b];
    }
  }
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) { cov[a * d + b] /= Math.max(1, n - 1); cov[b * d + a] = cov[a * d + b]; }
  let total = 0;
  for (let a = 0; a < d; a++) total += cov[a * d + a];
  const components: number[][] = [];
  const variances: number[] = [];
  const kk = Math.min(k, d);
  for (let comp = 0; comp < kk; comp++) {
    let v = new Float64Array(d).map((_, j) => 1 + ((j * 7919 + comp * 104729) % 13) / 13);
    let lambda = 0;
    for (let it = 0; it < iterations; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) {
        let s = 0;
        for (let b = 0; b < d; b++) s += cov[a * d + b] * v[b];
        w[a] = s;
      }
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      for (let a = 0; a < d; a++) w[a] /= norm;
      lambda = norm;
      v = w;
    }
    // Sign convention: largest-magnitude coordinate positive.
    let big = 0;
    for (let a = 1; a < d; a++) if (Math.abs(v[a]) > Math.abs(v[big])) big = a;
    if (v[big] < 0) v = v.map((x) => -x);
    components.push(Array.from(v));
    variances.push(lambda);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a * d + b] -= lambda * v[a] * v[b];
  }
  const projected = rows.map((r) => components.map((comp) => comp.reduce((s, x, j) => s + x * (r[j] - mean[j]), 0)));
  return { projected, components, variances, explained: variances.map((v) => (total > 0 ? v / total : 0)), mean: Array.from(mean) };
}
