/**
 * Similarity (Procrustes) alignment of landmark sets: find scale s, rotation R and translation t
 * minimising sum_i || s R a_i + t − b_i ||² over corresponding points a_i → b_i.
 *
 * 3-D: Horn's closed-form solution with unit quaternions (B. K. P. Horn, "Closed-form solution of
 * absolute orientation using unit quaternions", JOSA A 4(4), 1987): the rotation is the eigenvector
 * of the largest eigenvalue of a symmetric 4x4 matrix built from the cross-covariance; it is always
 * a proper rotation (no reflection). The scale is Umeyama's (IEEE TPAMI 13(4), 1991):
 * s = sum_i <R a_i', b_i'> / sum_i |a_i'|² on centred points.
 * 2-D: the rotation angle in closed form, atan2(sum a×b, sum a·b).
 *
 * Pure functions on flat arrays [n * 3] (x, y, z per point); 2-D mode ignores z.
 */

export interface Similarity {
  scale: number;
  /** 3x3 rotation, row-major. */
  rotation: Float64Array;
  translation: [number, number, number];
  /** Root-mean-square distance between the transformed source and the target on the fitted points. */
  rmsd: number;
}

type Points = ArrayLike<number>;

/** Eigen-decomposition of a symmetric n x n matrix (row-major) by cyclic Jacobi rotations. */
export function symmetricEigen(m: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

function centroid(p: Points, idx: ArrayLike<number>): [number, number, number] {
  let x = 0, y = 0, z = 0;
  for (let j = 0; j < idx.length; j++) { const k = 3 * idx[j]; x += p[k]; y += p[k + 1]; z += p[k + 2]; }
  const n = idx.length;
  return [x / n, y / n, z / n];
}

const allIndices = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

/**
 * The similarity transform taking `src` onto `dst`, fitted on the points `indices` (default all).
 * `dims` 3 (default) fits a 3-D rotation; 2 fits an in-plane rotation and leaves z unscaled-rotated.
 */
export function fitSimilarity(src: Points, dst: Points, indices?: ArrayLike<number>, dims: 2 | 3 = 3): Similarity {
  const idx = indices ?? allIndices(Math.floor(src.length / 3));
  if (idx.length < (dims === 3 ? 3 : 2)) throw new Error(`fitSimilarity needs at least ${dims === 3 ? 3 : 2} points, got ${idx.length}`);
  const ca = centroid(src, idx), cb = centroid(dst, idx);
  if (dims === 2) { ca[2] = 0; cb[2] = 0; }
  // Cross-covariance S = sum a' b'^T and the source spread.
  const S = new Float64Array(9);
  let spread = 0;
  for (let j = 0; j < idx.length; j++) {
    const k = 3 * idx[j];
    const a = [src[k] - ca[0], src[k + 1] - ca[1], dims === 3 ? src[k + 2] - ca[2] : 0];
    const b = [dst[k] - cb[0], dst[k + 1] - cb[1], dims === 3 ? dst[k + 2] - cb[2] : 0];
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) S[3 * r + c] += a[r] * b[c];
    spread += a[0] * a[0] + a[1] * a[1] + a[2] * a[2];
  }
  const R = new Float64Array(9);
  if (dims === 2) {
    const cross = S[1] - S[3]; // sum (ax by − ay bx)
    const dot = S[0] + S[4];
    const th = Math.atan2(cross, dot);
    const c = Math.cos(th), s = Math.sin(th);
    R.set([c, -s, 0, s, c, 0, 0, 0, 1]);
  } else {
    const [Sxx, Sxy, Sxz, Syx, Syy, Syz, Szx, Szy, Szz] = S;
    const N = [
      Sxx + Syy + Szz, Syz - Szy, Szx - Sxz, Sxy - Syx,
      Syz - Szy, Sxx - Syy - Szz, Sxy + Syx, Szx + Sxz,
      Szx - Sxz, Sxy + Syx, -Sxx + Syy - Szz, Syz + Szy,
      Sxy - Syx, Szx + Sxz, Syz + Szy, -Sxx - Syy + Szz,
    ];
    const { values, vectors } = symmetricEigen(N, 4);
    let best = 0;
    for (let i = 1; i < 4; i++) if (values[i] > values[best]) best = i;
    const q0 = vectors[best], qx = vectors[4 + best], qy = vectors[8 + best], qz = vectors[12 + best];
    R.set([
      q0 * q0 + qx * qx - qy * qy - qz * qz, 2 * (qx * qy - q0 * qz), 2 * (qx * qz + q0 * qy),
      2 * (qy * qx + q0 * qz), q0 * q0 - qx * qx + qy * qy - qz * qz, 2 * (qy * qz - q0 * qx),
      2 * (qz * qx - q0 * qy), 2 * (qz * qy + q0 * qx), q0 * q0 - qx * qx - qy * qy + qz * qz,
    ]);
  }
  // s = sum <R a', b'> / sum |a'|² = trace(R S) / spread (S = sum a' b'^T).
  let tr = 0;
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) tr += R[3 * r + c] * S[3 * c + r];
  const scale = spread > 0 ? tr / spread : 1;
  const t: [number, number, number] = [0, 0, 0];
  for (let r = 0; r < 3; r++) t[r] = cb[r] - scale * (R[3 * r] * ca[0] + R[3 * r + 1] * ca[1] + R[3 * r + 2] * ca[2]);
  if (dims === 2) t[2] = 0;
  const sim: Similarity = { scale, rotation: R, translation: t, rmsd: 0 };
  // Residual on the fitted points.
  const out = applySimilarity(sim, src);
  let se = 0;
  for (let j = 0; j < idx.length; j++) {
    const k = 3 * idx[j];
    se += (out[k] - dst[k]) ** 2 + (out[k + 1] - dst[k + 1]) ** 2 + (dims === 3 ? (out[k + 2] - dst[k + 2]) ** 2 : 0);
  }
  sim.rmsd = Math.sqrt(se / idx.length);
  return sim;
}

/** s R p + t for every point of `points` ([n * 3]); writes into `out` when given. */
export function applySimilarity(sim: Similarity, points: Points, out: Float64Array = new Float64Array(points.length)): Float64Array {
  const { scale: s, rotation: R, translation: t } = sim;
  for (let k = 0; k + 2 < points.length; k += 3) {
    const x = points[k], y = points[k + 1], z = points[k + 2];
    out[k] = s * (R[0] * x + R[1] * y + R[2] * z) + t[0];
    out[k + 1] = s * (R[3] * x + R[4] * y + R[5] * z) + t[1];
    out[k + 2] = s * (R[6] * x + R[7] * y + R[8] * z) + t[2];
  }
  return out;
}

/** Rotation matrix (row-major) from Euler angles in radians, applied as Rz · Ry · Rx. For tests and demos. */
export function rotationFromEuler(rx: number, ry: number, rz: number): Float64Array {
  const [cx, sx, cy, sy, cz, sz] = [Math.cos(rx), Math.sin(rx), Math.cos(ry), Math.sin(ry), Math.cos(rz), Math.sin(rz)];
  return Float64Array.from([
    cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx,
    sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx,
    -sy, cy * sx, cy * cx,
  ]);
}
