/**
 * lib/verify — checking that outputs on disk are what was recorded: SHA-256 output hashes for run
 * manifests (`hashOutputs`, called where run.json is written), `verifyRun` and `verifyFeatureStore`
 * (every shard against its index) behind `emolab verify <run or store folder>`.
 */
export * from './hashes';
export * from './store';
