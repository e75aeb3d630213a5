/**
 * The feature store's on-disk format: the index, shard and part records, the per-clip matrix types, how
 * shards and tensors are named, the fingerprints that decide whether a shard or a store can be reused, and
 * the plain readers of a set folder's index.json / part.json. Pure apart from those two reads; the writers are
 * in ./featureExtraction, the checks in ./featureStoreChecks, the reader of features in ./featureStore.
 *
 * Layout: `<dir>/<set>/shard-00000.safetensors` ... and `<dir>/<set>/index.json`, one folder per feature set.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clip, Manifest } from '../data/types';
import { sha256, shortHash } from '../hash';
import { runsRoot } from '../paths';
import type { PartSpec, PartWeight } from './partition';


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

export interface ShardJob {
  shard: number;
  file: string;
  fingerprint: string;
  clips: Clip[];
}

export const shardFileName = (i: number): string => `shard-${String(i).padStart(5, '0')}.safetensors`;

export interface ShardResult {
  shard: number;
  clips: string[];
  frames: Record<string, number>;
  quarantine: QuarantinedClip[];
}

/** The safetensors metadata key under which each shard records its fingerprint and {@link ShardResult}. */
export const SHARD_META_KEY = 'emolab';

/** Whether `dir` holds a feature store (an index.json in it or in one of its sub-folders). */
export function featureStoreExists(dir: string): boolean {
  if (existsSync(join(dir, 'index.json'))) return true;
  return existsSync(dir) && readdirSync(dir, { withFileTypes: true }).some((d) => d.isDirectory() && existsSync(join(dir, d.name, 'index.json')));
}

/** Conventional store location for a corpus: `$EMOLAB_RUNS/features/<corpus>` (shared by notebooks, CLI and training). */
export const featureStoreDir = (corpus: string): string => join(runsRoot(), 'features', corpus);

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
