/**
 * Feature extraction into the store: shard planning, one shard's computation and atomic write, reuse of the
 * shards whose fingerprint matches (resume), the index, and the pool of worker threads that computes shards
 * in parallel (each worker rebuilds the feature set from `set.ref`, since functions cannot cross threads).
 * With `part` (`--shard i/n`) one process computes a duration-balanced share into a partial store.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { writeFileAtomic, writeJsonAtomic } from '../atomic';
import type { Manifest } from '../data/types';
import { EmolabError, errorMessage } from '../errors';
import { repoRoot } from '../paths';
import { progress } from '../show/progress';
import { checkStoreFor } from './featureStoreChecks';
import {
  manifestRecord, settingsFingerprint, shardFileName, shardFingerprint, SHARD_META_KEY, tensorName,
  type FeatureSet, type FeatureSetRef, type FeatureStoreIndex, type PartIntent, type PartRecord, type QuarantinedClip,
  type ShardJob, type ShardResult, type StoreManifestRecord,
} from './featureStoreFormat';
import { acquireLock } from './lock';
import { formatPart, planParts, type PartSpec } from './partition';
import { encodeSafetensors, readSafetensorsHeader } from './safetensors';

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
  const metadata = { [SHARD_META_KEY]: JSON.stringify({ fingerprint: job.fingerprint, set: set.name, version: set.version, ...result }) };
  writeFileAtomic(job.file, encodeSafetensors(tensors, metadata));
  return result;
}

/** The result recorded in an existing shard, when its fingerprint matches; else undefined (recompute). */
export function existingShard(job: ShardJob): ShardResult | undefined {
  if (!existsSync(job.file)) return undefined;
  try {
    const { metadata } = readSafetensorsHeader(job.file);
    const meta = JSON.parse(metadata[SHARD_META_KEY] ?? '{}') as ShardResult & { fingerprint?: string };
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
