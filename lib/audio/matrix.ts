/** Frame-major feature matrices: `data[t * dims + d]` holds dimension d of frame t. */
export interface FeatureMatrix {
  data: Float32Array;
  frames: number;
  dims: number;
}

export function featureMatrix(frames: number, dims: number, data?: Float32Array): FeatureMatrix {
  const d = data ?? new Float32Array(frames * dims);
  if (d.length !== frames * dims) throw new RangeError(`feature matrix ${frames}x${dims} needs ${frames * dims} values, got ${d.length}`);
  return { data: d, frames, dims };
}

/** Row t as a subarray view (no copy). */
export function row(m: FeatureMatrix, t: number): Float32Array {
  return m.data.subarray(t * m.dims, (t + 1) * m.dims);
}

/** Column d as a new array. */
export function column(m: FeatureMatrix, d: number): Float32Array {
  const out = new Float32Array(m.frames);
  for (let t = 0; t < m.frames; t++) out[t] = m.data[t * m.dims + d];
  return out;
}

/** Nested array form (for plotting / JSON). */
export function toRows(m: FeatureMatrix): number[][] {
  const out: number[][] = [];
  for (let t = 0; t < m.frames; t++) out.push(Array.from(row(m, t)));
  return out;
}
