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
import { sha256, shortHash } from '../hash';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Clip, Manifest } from '../data/types';
import { EmolabError, errorMessage } from '../errors';
import { repoRoot, runsRoot } from '../paths';
import { progress } from '../show/progress';
import { writeFileAtomic, writeJsonAtomic } from '../atomic';
import { acquireLock } from './lock';
import { formatPart, planParts, type PartSpec, type PartWeight } from './partition';
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

/** The manifest a store was built from: corpus name and `manifestFingerprint` (absent in stores written before it was recorded). */
export interface StoreManifestRecord {
  corpus: string;
  fingerprint: string;
  clips: number;
}

/** A shard of a sharded extraction (`--shard i/n`): which part, and the layout of the whole store it belongs to. */
export interface PartRecord {
  index: number;
  count: number;
  /** What the split balanced (see lib/store/partition). */
  weight: PartWeight;
  /** This part's share of that weight, and the total. */
  load: number;
  totalLoad: number;
  /** The shard layout of the complete (merged) store, in manifest order. */
  layout: ShardEntry[];
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
  /** The manifest the store was built from (stores since the fingerprint check). */
  manifest?: StoreManifestRecord;
  /** `settingsFingerprint` of the feature set (name, version, params). */
  settings?: { fingerprint: string };
  /** Only in a partial store written by `--shard i/n`. */
  part?: PartRecord;
}

/** `<set dir>/part.json`, written when a sharded extraction starts, so an unfinished part can be named. */
export interface PartIntent {
  format: 'emolab-feature-store-part';
  set: string;
  part: PartSpec;
  manifest: StoreManifestRecord;
  settings: { fingerprint: string };
  shardSize: number;
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
  /**
   * Compute only part `index` of `count` of the manifest (balanced by duration, see lib/store/partition)
   * into a partial store; `emolab store merge` (lib/store/merge) joins the parts into the store a single
   * run would have written, byte for byte.
   */
  part?: PartSpec;
  /**
   * The settings changed on purpose: replace a store built with other settings of this set (recomputing
   * every shard) instead of refusing it. Another corpus is refused all the same.
   */
  rebuild?: boolean;
  /** Wait for another process holding the store's lock (ms, or true: forever) instead of failing at once. */
  waitForLock?: boolean | number;
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

/** Fingerprint of a feature set's settings: name, version and params. Pure. */
export function settingsFingerprint(set: { name: string; version: string; params: Record<string, unknown> }): string {
  return shortHash({ name: set.name, version: set.version, params: set.params }, 32);
}

/**
 * Fingerprint of a manifest: its corpus name and, in clip-id order (so it does not depend on listing
 * order), each clip's id and files. Two stores, or two shards, with the same fingerprint were computed
 * from the same clips. Pure.
 */
export function manifestFingerprint(manifest: Pick<Manifest, 'corpus' | 'clips'>): string {
  const h = sha256();
  h.update(JSON.stringify({ corpus: manifest.corpus }));
  const clips = [...manifest.clips].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const c of clips) h.update(JSON.stringify([c.id, c.audioPath ?? null, c.videoPath ?? null]));
  return h.digest('hex').slice(0, 32);
}

export const manifestRecord = (manifest: Pick<Manifest, 'corpus' | 'clips'>): StoreManifestRecord => ({ corpus: manifest.corpus, fingerprint: manifestFingerprint(manifest), clips: manifest.clips.length });

/** Fingerprint of one shard's inputs. Pure. */
export function shardFingerprint(set: Pick<FeatureSet, 'name' | 'version' | 'params'>, clips: Clip[]): string {
  const h = sha256();
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

export function buildIndex(
  set: Pick<FeatureSet, 'name' | 'version' | 'params' | 'features'>, corpus: string, shardSize: number, jobs: ShardJob[], results: ShardResult[],
  manifest?: StoreManifestRecord, part?: PartRecord,
): FeatureStoreIndex {
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
    ...(manifest ? { manifest, settings: { fingerprint: settingsFingerprint(set) } } : {}),
    ...(part ? { part } : {}),
  };
}

// ---------------------------------------------------------------- what a store was built from

/** The index of a set folder, or undefined when there is none (or it is unreadable: it will be rewritten). */
export function readIndexIfAny(setDir: string): FeatureStoreIndex | undefined {
  const file = join(setDir, 'index.json');
  if (!existsSync(file)) return undefined;
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as FeatureStoreIndex;
    return v && typeof v === 'object' && v.format === 'emolab-feature-store' ? v : undefined;
  } catch {
    return undefined;
  }
}

export function readPartIntent(setDir: string): PartIntent | undefined {
  const file = join(setDir, 'part.json');
  if (!existsSync(file)) return undefined;
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as PartIntent;
    return v && v.format === 'emolab-feature-store-part' ? v : undefined;
  } catch {
    return undefined;
  }
}

const storeSettingsFp = (i: FeatureStoreIndex): string => i.settings?.fingerprint ?? settingsFingerprint({ name: i.set, version: i.setVersion, params: i.params });

function paramDiff(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const keys = [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])].filter((k) => JSON.stringify(a?.[k]) !== JSON.stringify(b?.[k]));
  return keys.slice(0, 4).map((k) => `${k}: ${JSON.stringify(a?.[k])} vs ${JSON.stringify(b?.[k])}`).join('; ');
}

/**
 * Refuse, before any work, to write `set` for `manifest` into a set folder that holds features of another
 * corpus, of other settings, or of another part of a sharded extraction. The same corpus and settings with
 * another clip list is allowed: the store is re-indexed for the new manifest and every shard whose inputs
 * are unchanged is kept (profiles that select different clips of one corpus share its store).
 */
export function checkStoreFor(setDir: string, manifest: Pick<Manifest, 'corpus' | 'clips'>, set: Pick<FeatureSet, 'name' | 'version' | 'params'>, part?: PartSpec, rebuild = false): void {
  const index = readIndexIfAny(setDir);
  const intent = readPartIntent(setDir);
  const want = manifestRecord(manifest);
  const wantSettings = settingsFingerprint(set);
  const hint = 'write to another --out folder, or delete this one to rebuild it (settings changed on purpose: --rebuild)';
  if (index) {
    const have = index.manifest ?? { corpus: index.corpus, fingerprint: '(not recorded)', clips: Object.keys(index.clips).length + index.quarantine.length };
    if (index.corpus !== manifest.corpus) {
      throw new EmolabError('store', `feature store ${setDir} holds corpus "${index.corpus}" (manifest ${have.fingerprint}, ${have.clips} clips), not "${manifest.corpus}" (manifest ${want.fingerprint}, ${want.clips} clips)`, { file: setDir, hint });
    }
    if (!rebuild && storeSettingsFp(index) !== wantSettings) {
      throw new EmolabError('store', `feature store ${setDir} was built with other "${set.name}" settings (${storeSettingsFp(index)}, version ${index.setVersion}) than these (${wantSettings}, version ${set.version})${index.setVersion === set.version ? `: ${paramDiff(index.params, set.params)}` : ''}`, { file: setDir, hint });
    }
  }
  const existingPart = index?.part ? { index: index.part.index, count: index.part.count } : intent?.part;
  const existingFp = index?.manifest?.fingerprint ?? intent?.manifest.fingerprint;
  if (existingPart && !part) throw new EmolabError('store', `${setDir} holds shard ${formatPart(existingPart)} of a sharded extraction, not a whole store`, { file: setDir, hint: 'merge the shards with `emolab store merge <parts...> --out <store>`, or write to another --out folder' });
  if (part && index && !index.part) throw new EmolabError('store', `${setDir} holds a whole store, not shard ${formatPart(part)}`, { file: setDir, hint: 'give each shard its own --out folder' });
  if (part && existingPart && (existingPart.index !== part.index || existingPart.count !== part.count)) {
    throw new EmolabError('store', `${setDir} holds shard ${formatPart(existingPart)}, not ${formatPart(part)}`, { file: setDir, hint: 'give each shard its own --out folder' });
  }
  if (part && existingFp && existingFp !== want.fingerprint) {
    throw new EmolabError('store', `shard folder ${setDir} was started for manifest ${existingFp}, not this one (${want.fingerprint}, corpus ${manifest.corpus})`, { file: setDir, hint });
  }
  if (part && intent && !rebuild && intent.settings.fingerprint !== wantSettings) {
    throw new EmolabError('store', `shard folder ${setDir} was started with other "${set.name}" settings (${intent.settings.fingerprint}) than these (${wantSettings})`, { file: setDir, hint });
  }
}

/**
 * Check that a store opened for reading belongs to `manifest`: every set was built for the same corpus, and
 * lists every clip of the manifest (computed or quarantined). Throws an EmolabError naming the store
 * folder, both corpora and both manifest fingerprints. (A store may hold more clips than the manifest.)
 */
export function assertStoreFor(store: FeatureStore, manifest: Pick<Manifest, 'corpus' | 'clips'>, sets: string[] = store.sets()): void {
  const want = manifestRecord(manifest);
  for (const name of sets) {
    const index = store.index(name);
    const have = index.manifest?.fingerprint ?? '(not recorded)';
    if (index.corpus !== manifest.corpus) {
      throw new EmolabError('store', `feature store ${store.dir} (set "${name}") was built for corpus "${index.corpus}" (manifest ${have}), not for "${manifest.corpus}" (manifest ${want.fingerprint})`, { file: store.dir, hint: `extract the features of ${manifest.corpus}: emolab features extract --corpus ${manifest.corpus} --out <dir>` });
    }
    const listed = new Set(index.shards.flatMap((s) => s.clips));
    const missing = manifest.clips.filter((c) => !listed.has(c.id));
    if (missing.length) {
      throw new EmolabError('store', `feature store ${store.dir} (set "${name}", manifest ${have}) lacks ${missing.length} of the ${manifest.clips.length} clips of this ${manifest.corpus} manifest (${want.fingerprint}), e.g. ${missing.slice(0, 3).map((c) => c.id).join(', ')}`, { file: store.dir, hint: `rerun the extraction with this manifest into that folder (it keeps the shards it has): emolab features extract --corpus ${manifest.corpus} --out ${store.dir}` });
    }
  }
}

// ---------------------------------------------------------------- extraction (I/O, threads)

/** Worker bootstrap (plain JS: registers tsx in the thread) and the TypeScript worker it loads. */
export const featureWorkerFiles = (): { boot: string; entry: string } => ({
  boot: join(repoRoot, 'lib', 'store', 'featureWorkerBoot.mjs'),
  entry: join(repoRoot, 'lib', 'store', 'featureWorker.ts'),
});

/** Compute (or resume) the features of every clip of a manifest (or of one part of it) into `<dir>/<set.name>/`. */
export async function extractFeatures(opts: ExtractOptions): Promise<ExtractSummary> {
  const t0 = Date.now();
  const { manifest, set, part } = opts;
  const shardSize = opts.shardSize ?? 32;
  const setDir = join(opts.dir, set.name);
  // Everything that can be refused is checked before a folder is made or a clip computed.
  if (!/^[A-Za-z0-9_.-]+$/.test(set.name)) throw new EmolabError('store', `feature set name "${set.name}" must be a plain folder name`);
  const layout = planShards(manifest, set, setDir, shardSize);
  if (part && !(Number.isInteger(part.count) && part.count >= 1 && Number.isInteger(part.index) && part.index >= 0 && part.index < part.count)) {
    throw new EmolabError('store', `part ${part.index}/${part.count}: need 0 <= index < count`);
  }
  const split = part ? planParts(manifest.clips, part.count) : undefined;
  const mine = split ? manifest.clips.filter((_, i) => split.partOf[i] === part!.index) : manifest.clips;
  const jobs = part ? planShards({ ...manifest, clips: mine }, set, setDir, shardSize) : layout;
  const requested = opts.workers ?? availableParallelism();
  checkStoreFor(setDir, manifest, set, part, opts.rebuild);
  const record = manifestRecord(manifest);

  mkdirSync(setDir, { recursive: true });
  const label = part ? `features ${set.name} [shard ${formatPart(part)}]` : `features ${set.name}`;
  const lock = await acquireLock(setDir, { what: `${label} of ${manifest.corpus}`, wait: opts.waitForLock });
  try {
    checkStoreFor(setDir, manifest, set, part, opts.rebuild); // again under the lock: a concurrent run may have written meanwhile
    // Temp files left by a killed run are garbage (atomic writes): remove them.
    for (const f of readdirSync(setDir)) if (f.endsWith('.tmp')) rmSync(join(setDir, f), { force: true });
    if (part) {
      const intent: PartIntent = { format: 'emolab-feature-store-part', set: set.name, part: { index: part.index, count: part.count }, manifest: record, settings: { fingerprint: settingsFingerprint(set) }, shardSize };
      writeJsonAtomic(join(setDir, 'part.json'), intent);
    }
    const results: (ShardResult | undefined)[] = jobs.map((j) => existingShard(j));
    const todo = jobs.filter((_, i) => !results[i]);
    const resumed = jobs.length - todo.length;
    const todoClips = todo.reduce((a, j) => a + j.clips.length, 0);
    const workers = Math.max(1, Math.min(Math.floor(requested), todo.length || 1));
    if (workers > 1 && !set.ref) throw new EmolabError('store', `feature set "${set.name}" has no \`ref\`, so it cannot run on worker threads`, { hint: 'use workers: 1, or give the set a ref {module, exportName, options}' });
    if (!opts.quiet && resumed > 0) console.error(`${label}: resuming, ${resumed}/${jobs.length} shards already done`);
    const bar = progress(label, todoClips, { unit: 'clips', quiet: opts.quiet });
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
    const partRecord: PartRecord | undefined = part && split ? {
      index: part.index, count: part.count, weight: split.weight, load: split.loads[part.index], totalLoad: split.loads.reduce((a, b) => a + b, 0),
      layout: layout.map((j) => ({ file: basename(j.file), fingerprint: j.fingerprint, clips: j.clips.map((c) => c.id) })),
    } : undefined;
    const index = buildIndex(set, manifest.corpus, shardSize, jobs, results as ShardResult[], record, partRecord);
    writeJsonAtomic(join(setDir, 'index.json'), index);
    return { index, dir: setDir, computedShards: todo.length, resumedShards: resumed, clipsComputed: todoClips, seconds: (Date.now() - t0) / 1000, workers };
  } finally {
    lock.release();
  }
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
