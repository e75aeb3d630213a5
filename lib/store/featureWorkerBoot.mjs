// Worker-thread entry of the feature store pool. Plain JavaScript, so it starts the same way under tsx, plain
// node and tslab: it registers tsx's TypeScript loader in this thread (an inherited `--import tsx` is not
// applied to worker threads on Node 20), then loads the TypeScript worker (./featureWorker.ts).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.workerEntry);
