/**
 * lib/store — everything written to disk by the pipeline: safetensors (read/write, Python-compatible),
 * atomic writes (temp file + rename), folder locks (`acquireLock`, `withLock`), and the sharded, resumable,
 * multi-threaded per-clip feature store (`extractFeatures`, `openFeatureStore`) that audio and face
 * features share; with `part` (`--shard i/n`) one process computes a duration-balanced share of a corpus,
 * and `mergeFeatureStores` (`emolab store merge`) joins the shares byte-identically to a single run.
 *
 * Files: featureStoreFormat (index/shard records, names, fingerprints), featureStoreChecks (what a store was
 * built from, checked before work), featureExtraction (shards, resume, worker pool), featureStore (the reader,
 * and the one import point for all four), featureWorker(+Boot) (the pool's thread), merge, partition, lock,
 * safetensors.
 */
export * from '../atomic';
export * from './safetensors';
export * from './lock';
export * from './partition';
export { mergeFeatureStores } from './merge';
export type { MergeOptions, MergeSummary, MergedSet } from './merge';
export {
  extractFeatures, openFeatureStore, featureStoreDir, featureStoreExists, planShards, shardFingerprint, shardFileName, runShardJob, existingShard, buildIndex,
  manifestFingerprint, settingsFingerprint, manifestRecord, checkStoreFor, assertStoreFor, tensorName,
} from './featureStore';
export type {
  FeatureSet, FeatureSetRef, FeatureSpec, FeatureStore, FeatureStoreIndex, FrameMatrix, QuarantinedClip, ShardEntry, ShardJob, ShardResult,
  ExtractOptions, ExtractSummary, PartRecord, PartIntent, StoreManifestRecord,
} from './featureStore';
