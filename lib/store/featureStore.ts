/**
 * Feature store: per-clip frame-level features for a whole manifest, as safetensors shards plus an index.
 *
 * Layout: `<dir>/<set>/shard-00000.safetensors` ... and `<dir>/<set>/index.json`, one folder per feature set
 * ("audio", later "face"), so different feature sets of the same clips live side by side and are read through
 * one `openFeatureStore(dir)`. Each shard holds `shardSize` consecutive clips of the manifest; tensor names are
 * `<clipId>/<feature>`, shape [frames, dims], float32 — readable from Python with `safetensors.numpy.load_file`.
 *
 * Guarantees:
 * - atomic: every shard and the index are written to a temp file and renamed; the index is written last.
 * - resumable and deterministic: a shard's metadata carries a fingerprint of (feature set name, version,
 *   params, the shard's clips and their files). A rerun keeps every shard whose fingerprint matches and
 *   recomputes the rest, so a killed run resumes, and its final files are byte-identical to an uninterrupted run.
 * - bad clips do not stop the run: the error goes to the quarantine list (in the shard metadata and the
 *   index) with the file and the reason; the other clips are processed.
 * - parallel: shards are processed by a pool of worker threads (default one per core); each worker rebuilds the
 *   feature set from `set.ref` (module path + export name + options), since functions cannot cross threads.
 *
 * This file is the reader (`openFeatureStore`) and the store's one import point: it re-exports the format
 * (./featureStoreFormat), the checks (./featureStoreChecks) and extraction (./featureExtraction).
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { EmolabError, errorMessage } from '../errors';
import { tensorName, type FeatureSpec, type FeatureStore, type FeatureStoreIndex, type QuarantinedClip } from './featureStoreFormat';
import { readSafetensorsHeader } from './safetensors';

export * from './featureStoreFormat';
export * from './featureStoreChecks';
export * from './featureExtraction';

/** Open a store root (`<dir>/<set>/index.json` for each set) or a single set folder (`<dir>/index.json`). */
export function openFeatureStore(dir: string): FeatureStore {
  const indexes = new Map<string, { index: FeatureStoreIndex; dir: string }>();
  const load = (setDir: string): void => {
    const file = join(setDir, 'index.json');
    let index: FeatureStoreIndex;
    try { index = JSON.parse(readFileSync(file, 'utf8')) as FeatureStoreIndex; } catch (e) { throw new EmolabError('store', `cannot read feature index: ${errorMessage(e)}`, { file }); }
    if (index === null || typeof index !== 'object' || index.format !== 'emolab-feature-store') throw new EmolabError('store', 'not an emolab feature-store index', { file });
    const incomplete: string[] = [
      ...(['features', 'clips'] as const).filter((k) => index[k] === null || typeof index[k] !== 'object'),
      ...(['shards', 'quarantine'] as const).filter((k) => !Array.isArray(index[k])),
      ...(typeof index.set === 'string' ? [] : ['set']),
    ];
    if (incomplete.length) throw new EmolabError('store', `feature index lacks or garbles ${incomplete.join(', ')}`, { file, hint: 'rerun the extraction to rebuild it' });
    if (index.part) throw new EmolabError('store', `this is shard ${index.part.index}/${index.part.count} of a sharded extraction (${Object.keys(index.clips).length} clips), not a whole store`, { file, hint: 'merge the shards first: emolab store merge <part dirs...> --out <store>' });
    indexes.set(index.set, { index, dir: setDir });
  };
  if (existsSync(join(dir, 'index.json'))) load(dir);
  else if (existsSync(dir)) {
    for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory() && existsSync(join(dir, d.name, 'index.json'))) load(join(dir, d.name));
  }
  if (indexes.size === 0) throw new EmolabError('store', `no feature store at ${dir} (no index.json in it or its sub-folders)`, { file: dir, hint: 'run: emolab features extract --corpus emodb --out <dir>' });
  const featureSet = new Map<string, string>();
  for (const [name, { index }] of indexes) {
    for (const f of Object.keys(index.features)) {
      if (featureSet.has(f)) throw new EmolabError('store', `feature "${f}" is provided by both "${featureSet.get(f)}" and "${name}"`, { file: dir });
      featureSet.set(f, name);
    }
  }
  const headers = new Map<string, ReturnType<typeof readSafetensorsHeader>>();
  const header = (file: string) => {
    let h = headers.get(file);
    if (!h) { h = readSafetensorsHeader(file); headers.set(file, h); }
    return h;
  };
  const locate = (clipId: string, feature: string) => {
    const setName = featureSet.get(feature);
    if (!setName) throw new EmolabError('store', `no feature "${feature}" in the store (has: ${[...featureSet.keys()].join(', ')})`, { file: dir });
    const { index, dir: setDir } = indexes.get(setName)!;
    const entry = index.clips[clipId];
    return { index, setDir, entry };
  };
  return {
    dir,
    sets: () => [...indexes.keys()].sort(),
    clips(set?: string) {
      if (set !== undefined) {
        const s = indexes.get(set);
        if (!s) throw new EmolabError('store', `no feature set "${set}" in the store (has: ${[...indexes.keys()].join(', ')})`, { file: dir });
        return Object.keys(s.index.clips);
      }
      const all = new Set<string>();
      for (const { index } of indexes.values()) for (const id of Object.keys(index.clips)) all.add(id);
      return [...all];
    },
    features() {
      const out: Record<string, FeatureSpec & { set: string }> = {};
      for (const [name, { index }] of indexes) for (const [f, spec] of Object.entries(index.features)) out[f] = { ...spec, set: name };
      return out;
    },
    has(clipId, feature) {
      const setName = featureSet.get(feature);
      return setName !== undefined && clipId in indexes.get(setName)!.index.clips;
    },
    get(clipId, feature) {
      const { index, setDir, entry } = locate(clipId, feature);
      if (!entry) {
        const q = index.quarantine.find((x) => x.clipId === clipId);
        throw new EmolabError('store', `clip "${clipId}" has no "${feature}" features${q ? ` (quarantined: ${q.reason})` : ''}`, { file: join(setDir, 'index.json') });
      }
      const file = join(setDir, index.shards[entry.shard].file);
      const h = header(file);
      const e = h.entries[tensorName(clipId, feature)];
      if (!e || e.dtype !== 'F32' || e.shape.length !== 2) throw new EmolabError('store', `shard lacks a float32 [frames, dims] tensor "${clipId}/${feature}"`, { file });
      const [begin, end] = e.data_offsets;
      const out = new Float32Array((end - begin) / 4);
      const fd = openSync(file, 'r');
      try { readSync(fd, new Uint8Array(out.buffer), 0, end - begin, h.dataStart + begin); } finally { closeSync(fd); }
      return { data: out, frames: e.shape[0], dims: e.shape[1] };
    },
    quarantine(set?: string) {
      const list: QuarantinedClip[] = [];
      for (const [name, { index }] of indexes) if (set === undefined || set === name) list.push(...index.quarantine);
      return list;
    },
    index(set: string) {
      const s = indexes.get(set);
      if (!s) throw new EmolabError('store', `no feature set "${set}" in the store`, { file: dir });
      return s.index;
    },
  };
}
