/**
 * One replica of lib/train/dataParallel, in a worker thread: starts the main thread's backend and
 * kernel set, builds the model from its config with the main thread's weights, and answers each step
 * with its shard's gradients (one transferred Float32Array). Keeps no optimizer state.
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort } from 'node:worker_threads';
import { initBackend, parseBackendRequest } from '../backend';
import { overrideProducts, parseKernelRequest } from '../accel/index';
import { errorMessage } from '../errors';
import { createModel, type SpeechModel } from '../models/heads';
import { assignFlat, modelVariables, shardGradients, type InitMessage, type WorkerReply, type WorkerRequest } from './dataParallel';

const port = parentPort;
if (!port) throw new Error('lib/train/dataParallelWorker.ts runs in a worker thread (lib/train/dataParallel starts it)');

let model: SpeechModel | undefined;
let trainable: tf.Variable[] = [];

function release(): void {
  if (model) tf.dispose(modelVariables(model));
  model = undefined;
  trainable = [];
}

async function init(m: InitMessage): Promise<WorkerReply> {
  const b = await initBackend(parseBackendRequest(m.backend), parseKernelRequest(m.kernels));
  overrideProducts(m.products);
  release();
  const built = createModel(m.config, 0);
  const vars = modelVariables(built);
  if (vars.length !== m.shapes.length || vars.some((v, i) => v.shape.join(',') !== m.shapes[i].join(','))) {
    tf.dispose(vars);
    throw new Error(`model built from the config has ${vars.length} variables, the main thread's ${m.shapes.length} (or shapes differ)`);
  }
  vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(m.values[i], m.shapes[i], 'float32'))));
  model = built;
  trainable = m.trainable.map((i) => vars[i]);
  return { type: 'ready', backend: b.name, kernels: b.kernels?.active ?? 'none' };
}

port.on('message', async (m: WorkerRequest) => {
  try {
    if (m.type === 'init') { port.postMessage(await init(m)); return; }
    if (m.type === 'release') { release(); port.postMessage({ type: 'released' } satisfies WorkerReply); return; }
    if (!model) throw new Error('step before init');
    assignFlat(trainable, m.params);
    const r = shardGradients(model, trainable, m.examples, m.seed, m.share, m.headWeights);
    port.postMessage({ type: 'grads', ...r } satisfies WorkerReply, [r.grads.buffer as ArrayBuffer, r.present.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ type: 'error', message: errorMessage(e) } satisfies WorkerReply);
  }
});
