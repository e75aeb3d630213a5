/**
 * lib/verify — checking that a run's outputs are the bytes it recorded: SHA-256 output hashes for run
 * manifests (`hashOutputs`, called where run.json is written) and `verifyRun` behind
 * `emolab verify runs/<name>`.
 */
export * from './hashes';
