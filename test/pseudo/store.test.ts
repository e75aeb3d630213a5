import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clip, Manifest } from '../../lib/data/types';
import { extractFeatures, openFeatureStore, type FeatureSet } from '../../lib/store/featureStore';
import { energyCurvesFromStore } from '../../lib/pseudo/labelerInputs';
import { buildEnergyLabelSet } from '../../lib/pseudo/build';
import { writeLabelSet, readLabelSet } from '../../lib/pseudo/labelsets';

test('energy targets from the feature store, saved beside it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emolab-pseudo-store-'));
  try {
    const clips: Clip[] = ['a', 'b'].map((id) => ({ id, corpus: 'toy', speaker: 'S', audioPath: `/nowhere/${id}.wav` }));
    const manifest: Manifest = { corpus: 'toy', root: dir, clips, quarantine: [] };
    // energy_db of 200 frames: quiet steady first half, alternating loud/quiet second half
    const set: FeatureSet = {
      name: 'audio', version: 'test', params: {}, features: { energy_db: { dims: 1, description: 'test energy' } },
      async extract(clip) {
        const data = Float32Array.from({ length: 200 }, (_, i) => (i < 100 ? -40 : i % 2 ? -10 : -50) + (clip.id === 'b' ? 5 : 0));
        return { energy_db: { data, frames: 200, dims: 1 } };
      },
    };
    await extractFeatures({ manifest, dir, set, workers: 1, quiet: true });
    const store = openFeatureStore(dir);
    const { items, quarantine } = await energyCurvesFromStore(store, [...clips, { id: 'missing', corpus: 'toy', speaker: 'S' }]);
    assert.equal(items.length, 2);
    assert.equal(quarantine.length, 1);
    const built = buildEnergyLabelSet(items, { segmentation: { mode: 'fixed', lengthFrames: 100, hopFrames: 100 } });
    assert.deepEqual([...(built.tensors['a/labels'].data as Int8Array)], [0, 1]);
    writeLabelSet(dir, built.summary, built.tensors);
    // the label set sits in <store>/pseudo/ and does not disturb the store
    assert.deepEqual(openFeatureStore(dir).sets(), ['audio']);
    assert.deepEqual(readLabelSet(dir, 'energy').summary.balance, { low: 2, high: 2, excluded: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
