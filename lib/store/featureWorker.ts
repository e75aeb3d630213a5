/**
 * Worker-thread side of the feature store pool (see ./featureExtraction): rebuilds the feature set from its ref,
 * then computes and writes each shard it is sent, reporting every finished clip.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { errorMessage } from '../errors';
import { runShardJob } from './featureExtraction';
import type { FeatureSet, FeatureSetRef, ShardJob } from './featureStoreFormat';

const port = parentPort;
if (!port) throw new Error('featureWorker must run in a worker thread');
const { ref } = workerData as { ref: FeatureSetRef };
const setPromise: Promise<FeatureSet> = import(pathToFileURL(ref.module).href).then((mod: Record<string, unknown>) => {
  const factory = mod[ref.exportName];
  if (typeof factory !== 'function') throw new Error(`${ref.module} has no function export "${ref.exportName}"`);
  return (factory as (o: unknown) => FeatureSet)(ref.options);
});

port.on('message', (job: ShardJob) => {
  setPromise
    .then((set) => runShardJob(set, job, (clipId) => port.postMessage({ type: 'clip', clipId })))
    .then((result) => port.postMessage({ type: 'shard', result }))
    .catch((e: unknown) => port.postMessage({ type: 'error', message: errorMessage(e) }));
});
