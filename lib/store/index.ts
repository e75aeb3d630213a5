/**
 * lib/store — everything written to disk by the pipeline: safetensors (read/write, Python-compatible),
 * atomic writes (temp file + rename), and the sharded, resumable, multi-threaded per-clip feature store
 * (`extractFeatures`, `openFeatureStore`) that audio and face features share.
 */
export * from './atomic';
export * from './safetensors';
export {
  extractFeatures, openFeatureStore, featureStoreDir, planShards, shardFingerprint, shardFileName, runShardJob, existingShard, buildIndex,
} from './featureStore';
export type {
  FeatureSet, FeatureSetRef, FeatureSpec, FeatureStore, FeatureStoreIndex, FrameMatrix, QuarantinedClip, ShardEntry, ShardJob, ShardResult,
  ExtractOptions, ExtractSummary,
} from './featureStore';
