/**
 * Utterance embeddings of a speech model (mean of the encoder's output frames), for the pretext
 * notebooks' embedding figures and nearest-neighbour checks.
 */
import * as tf from '@tensorflow/tfjs';
import { forward, type SpeechModel } from '../models/heads';
import { maskedMeanPool } from '../models/layers';
import { makeBatch, planBatches, type Example } from './batches';

/** Utterance embeddings: mean of the encoder's output frames over each clip, in example order. */
export function utteranceEmbeddings(model: SpeechModel, examples: Example[], batchSize = 16): number[][] {
  const out: number[][] = new Array(examples.length);
  for (const idx of planBatches(examples.map((e) => e.frames), { batchSize, shuffle: false, seed: 0, epoch: 0 })) {
    const batch = makeBatch(idx.map((i) => examples[i]));
    const emb = tf.tidy(() => {
      const { encoded } = forward(model, batch.x, batch.lengths, {}, { heads: [] });
      return maskedMeanPool(encoded.hidden, encoded.mask).arraySync();
    });
    idx.forEach((i, k) => { out[i] = emb[k]; });
    batch.x.dispose();
  }
  return out;
}
