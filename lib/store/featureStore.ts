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
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Clip, Manifest } from '../data/types';
import { EmolabError, errorMessage } from '../errors';
import { repoRoot, runsRoot } from '../paths';
import { progress } from '../report/progress';
import { writeFileAtomic, writeJsonAtomic } from './atomic';
import { encodeSafetensors, readSafetensorsHeader } from './safetensors';

/** Frame-major float32 matrix (structurally the same as lib/audio's FeatureMatrix). */
export interface FrameMatrix {
  data: Float32Array;
  frames: number;
  dims: number;
}

export interface FeatureSpec {
  dims: number;
  description: string;
}

/** How a worker thread rebuilds a feature set: `(await import(module))[exportName](options)`. */
export interface FeatureSetRef {
  module: string;
  exportName: string;
  options?: unknown;
}

/** A named family of per-clip features computed by one function. */
export interface FeatureSet {
  /** Folder name in the store: "audio", "face". */
  name: string;
  /** Bump when the output changes; part of the shard fingerprint. */
  version: string;
  /** Parameters recorded in the index and the fingerprint (JSON-serialisable). */
  params: Record<string, unknown>;
  features: Record<string, FeatureSpec>;
  /** Compute all features of one clip. Throw (ideally an EmolabError) to quarantine the clip. */
  extract(clip: Clip): Promise<Record<string, FrameMatrix>>;
  /** Needed to run on worker threads. */
  ref?: FeatureSetRef;
}

export interface QuarantinedClip {
  clipId: string;
  file: string;
  stage: string;
  reason: string;
}

export interface ShardEntry {
  file: string;
  fingerprint: string;
  clips: string[];
}

export interface FeatureStoreIndex {
  format: 'emolab-feature-store';
  formatVersion: 1;
  set: string;
  setVersion: string;
  params: Record<string, unknown>;
  corpus: string;
  features: Record<string, FeatureSpec>;
  shardSize: number;
  shards: ShardEntry[];
  /** Every clip with features: its shard (index into `shards`) and frame count. */
  clips: Record<string, { shard: number; frames: number }>;
  quarantine: QuarantinedClip[];
}

export interface ExtractOptions {
  manifest: Manifest;
  /** Store root; the set goes to `<dir>/<set.name>/`. */
  dir: string;
  set: FeatureSet;
  /** Worker threads (default: one per core). 0 or 1 runs in this thread. */
  workers?: number;
  /** Clips per shard (default 32). Part of the layout: changing it recomputes everything. */
  shardSize?: number;
  quiet?: boolean;
  /** Called after each shard is on disk (tests use it to kill a run midway). */
  onShardWritten?: (shard: number, file: string) => void | Promise<void>;
}

export interface ExtractSummary {
  index: FeatureStoreIndex;
  dir: string;
  computedShards: number;
  resumedShards: number;
  clipsComputed: number;
  seconds: number;
  workers: number;
}

/** Whether `dir` holds a feature store (an index.json in it or in one of its sub-folders). */
export function featureStoreExists(dir: string): boolean {
  if (existsSync(join(dir, 'index.json'))) return true;
  return existsSync(dir) && readdirSync(dir, { withFileTypes: true }).some((d) => d.isDirectory() && existsSync(join(dir, d.name, 'index.json')));
}

/** Conventional store location for a corpus: `$EMOLAB_RUNS/features/<corpus>` (shared by notebooks, CLI and training). */
export const featureStoreDir = (corpus: string): string => join(runsRoot(), 'features', corpus);

// ---------------------------------------------------------------- shard plan and jobs (pure parts)

export interface ShardJob {
  shard: number;
  file: string;
  fingerprint: string;
  clips: Clip[];
}

export const shardFileName = (i: number): string => `shard-${String(i).padStart(5, '0')}.safetensors`;

/** Fingerprint of one shard's inputs. Pure. */
export function shardFingerprint(set: Pick<FeatureSet, 'name' | 'version' | 'params'>, clips: Clip[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ name: set.name, version: set.version, params: set.params }));
  for (const c of clips) h.update(JSON.stringify([c.id, c.audioPath ?? null, c.videoPath ?? null]));
  return h.digest('hex').slice(0, 32);
}

/**
 * The tensor name of one clip's feature inside a shard: `<clip>/<feature>`, with "%" and "/" of the
 * clip id percent-encoded, so ids such as `grid/s1/bbaf2n` (corpora whose clips sit in subfolders)
 * never collide with the separator. Ids without those characters are stored as they are.
 */
export function tensorName(clipId: string, feature: string): string {
  return `${clipId.replace(/%/g, '%25').replace(/\//g, '%2F')}/${feature}`;
}

/** Split a manifest into shard jobs, in manifest order. Pure. */
export function planShards(manifest: Manifest, set: Pick<FeatureSet, 'name' | 'version' | 'params'>, setDir: string, shardSize: number): ShardJob[] {
  if (!(Number.isInteger(shardSize) && shardSize > 0)) throw new EmolabError('store', `shardSize must be a positive integer, got ${shardSize}`);
  const seen = new Set<string>();
  for (const c of manifest.clips) {
    if (seen.has(c.id)) throw new EmolabError('store', `clip id "${c.id}" appears twice in the ${manifest.corpus} manifest`);
    seen.add(c.id);
  }
  const jobs: ShardJob[] = [];
  for (let i = 0; i * shardSize < manifest.clips.length; i++) {
    const clips = manifest.clips.slice(i * shardSize, (i + 1) * shardSize);
    jobs.push({ shard: i, file: join(setDir, shardFileName(i)), fingerprint: shardFingerprint(set, clips), clips });
  }
  return jobs;
}

export interface ShardResult {
  shard: number;
  clips: string[];
  frames: Record<string, number>;
  quarantine: QuarantinedClip[];
}

const META_KEY = 'emolab';

/** Compute one shard and write it atomically. Runs in a worker or in the main thread. */
export async function runShardJob(set: FeatureSet, job: ShardJob, onClip: (clipId: string) => void = () => {}): Promise<ShardResult> {
  const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
  const frames: Record<string, number> = {};
  const quarantine: QuarantinedClip[] = [];
  for (const clip of job.clips) {
    try {
      const feats = await set.extract(clip);
      for (const [name, spec] of Object.entries(set.features)) {
        const m = feats[name];
        if (!m) throw new EmolabError('store', `feature set "${set.name}" returned no "${name}" for clip ${clip.id}`);
        if (m.dims !== spec.dims || m.data.length !== m.frames * m.dims) {
          throw new EmolabError('store', `feature "${name}" of clip ${clip.id} is [${m.frames}, ${m.dims}] with ${m.data.length} values; expected dims ${spec.dims}`);
        }
      }
      for (const name of Object.keys(set.features)) {
        const m = feats[name];
        tensors[tensorName(clip.id, name)] = { data: m.data, shape: [m.frames, m.dims] };
      }
      frames[clip.id] = feats[Object.keys(set.features)[0]].frames;
    } catch (e) {
      const stage = e instanceof EmolabError ? e.stage : set.name;
      quarantine.push({ clipId: clip.id, file: clip.audioPath ?? clip.videoPath ?? '', stage, reason: errorMessage(e) });
    }
    onClip(clip.id);
  }
  const result: ShardResult = { shard: job.shard, clips: job.clips.map((c) => c.id), frames, quarantine };
  const metadata = { [META_KEY]: JSON.stringify({ fingerprint: job.fingerprint, set: set.name, version: set.version, ...result }) };
  writeFileAtomic(job.file, encodeSafetensors(tensors, metadata));
  return result;
}

/** The result recorded in an existing shard, when its fingerprint matches; else undefined (recompute). */
export function existingShard(job: ShardJob): ShardResult | undefined {
  if (!existsSync(job.file)) return undefined;
  try {
    const { metadata } = readSafetensorsHeader(job.file);
    const meta = JSON.parse(metadata[META_KEY] ?? '{}') as ShardResult & { fingerprint?: string };
    if (meta.fingerprint !== job.fingerprint) return undefined;
    return { shard: meta.shard, clips: meta.clips, frames: meta.frames, quarantine: meta.quarantine };
  } catch {
    return undefined; // unreadable (should not happen with atomic writes): recompute
  }
}

export function buildIndex(set: FeatureSet, corpus: string, shardSize: number, jobs: ShardJob[], results: ShardResult[]): FeatureStoreIndex {
  const clips: FeatureStoreIndex['clips'] = {};
  const quarantine: QuarantinedClip[] = [];
  for (const r of results) {
    for (const id of r.clips) if (id in r.frames) clips[id] = { shard: r.shard, frames: r.frames[id] };
    quarantine.push(...r.quarantine);
  }
  return {
    format: 'emolab-feature-store',
    formatVersion: 1,
    set: set.name,
    setVersion: set.version,
    params: set.params,
    corpus,
    features: set.features,
    shardSize,
    shards: jobs.map((j) => ({ file: basename(j.file), fingerprint: j.fingerprint, clips: j.clips.map((c) => c.id) })),
    clips,
    quarantine,
  };
}

// ---------------------------------------------------------------- extraction (I/O, threads)

/** Worker bootstrap (plain JS: registers tsx in the thread) and the TypeScript worker it loads. */
export const featureWorkerFiles = (): { boot: string; entry: string } => ({
  boot: join(repoRoot, 'lib', 'store', 'featureWorkerBoot.mjs'),
  entry: join(repoRoot, 'lib', 'store', 'featureWorker.ts'),
});

/** Compute (or resume) the features of every clip of a manifest into `<dir>/<set.name>/`. */
export async function extractFeatures(opts: ExtractOptions): Promise<ExtractSummary> {
  const t0 = Date.now();
  const { manifest, set } = opts;
  const shardSize = opts.shardSize ?? 32;
  const setDir = join(opts.dir, set.name);
  if (!/^[A-Za-z0-9_.-]+$/.test(set.name)) throw new EmolabError('store', `feature set name "${set.name}" must be a plain folder name`);
  mkdirSync(setDir, { recursive: true });
  // Temp files left by a killed run are garbage (atomic writes): remove them.
  for (const f of readdirSync(setDir)) if (f.endsWith('.tmp')) rmSync(join(setDir, f), { force: true });

  const jobs = planShards(manifest, set, setDir, shardSize);
  const results: (ShardResult | undefined)[] = jobs.map((j) => existingShard(j));
  const todo = jobs.filter((_, i) => !results[i]);
  const resumed = jobs.length - todo.length;
  const todoClips = todo.reduce((a, j) => a + j.clips.length, 0);
  const requested = opts.workers ?? availableParallelism();
  const workers = Math.max(1, Math.min(Math.floor(requested), todo.length || 1));
  if (workers > 1 && !set.ref) throw new EmolabError('store', `feature set "${set.name}" has no \`ref\`, so it cannot run on worker threads`, { hint: 'use workers: 1, or give the set a ref {module, exportName, options}' });
  if (!opts.quiet && resumed > 0) console.error(`features ${set.name}: resuming, ${resumed}/${jobs.length} shards already done`);
  const bar = progress(`features ${set.name}`, todoClips, { unit: 'clips', quiet: opts.quiet });
  const onDone = async (r: ShardResult, job: ShardJob): Promise<void> => {
    results[job.shard] = r;
    await opts.onShardWritten?.(job.shard, job.file);
  };

  if (todo.length > 0 && workers <= 1) {
    for (const job of todo) await onDone(await runShardJob(set, job, () => bar.tick()), job);
  } else if (todo.length > 0) {
    await runPool(set.ref!, todo, workers, () => bar.tick(), onDone);
  }
  bar.done();
  const index = buildIndex(set, manifest.corpus, shardSize, jobs, results as ShardResult[]);
  writeJsonAtomic(join(setDir, 'index.json'), index);
  return { index, dir: setDir, computedShards: todo.length, resumedShards: resumed, clipsComputed: todoClips, seconds: (Date.now() - t0) / 1000, workers };
}

type WorkerMessage = { type: 'clip'; clipId: string } | { type: 'shard'; result: ShardResult } | { type: 'error'; message: string };

async function runPool(
  ref: FeatureSetRef,
  jobs: ShardJob[],
  size: number,
  onClip: () => void,
  onShard: (r: ShardResult, job: ShardJob) => Promise<void>,
): Promise<void> {
  const queue = [...jobs];
  const { boot, entry } = featureWorkerFiles();
  const runWorker = (): Promise<void> => new Promise((resolvePromise, reject) => {
    const w = new Worker(pathToFileURL(boot), { workerData: { ref, workerEntry: pathToFileURL(entry).href }, execArgv: [] });
    let current: ShardJob | undefined;
    let failed = false;
    const next = (): void => {
      current = queue.shift();
      if (current) w.postMessage(current);
      else void w.terminate().then(() => resolvePromise()); // current is undefined: the exit is expected
    };
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'clip') onClip();
      else if (m.type === 'shard') onShard(m.result, current!).then(next, (e) => { failed = true; reject(e); void w.terminate(); });
      else { failed = true; reject(new EmolabError('store', `feature worker failed on shard ${current?.shard}: ${m.message}`, { file: current?.file })); void w.terminate(); }
    });
    w.on('error', (e) => { if (!failed) { failed = true; reject(new EmolabError('store', `feature worker crashed: ${errorMessage(e)}`, { file: current?.file })); } });
    w.on('exit', (code) => {
      // A worker that stops while it still has a shard (process.exit in user code, out of memory) fails the run.
      if (!failed && current) { failed = true; reject(new EmolabError('store', `feature worker exited (code ${code}) during shard ${current.shard}`, { file: current.file })); }
    });
    w.on('online', next);
  });
  await Promise.all(Array.from({ length: size }, runWorker));
}

// ---------------------------------------------------------------- reading

export interface FeatureStore {
  dir: string;
  /** Feature sets present ("audio", "face"). */
  sets(): string[];
  /** Clip ids with features: in one set, or in any. */
  clips(set?: string): string[];
  /** Every feature name with its set and dims. */
  features(): Record<string, FeatureSpec & { set: string }>;
  has(clipId: string, feature: string): boolean;
  /** One feature matrix of one clip (reads only its bytes). */
  get(clipId: string, feature: string): FrameMatrix;
  quarantine(set?: string): QuarantinedClip[];
  index(set: string): FeatureStoreIndex;
}

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
