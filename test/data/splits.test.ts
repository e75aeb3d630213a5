import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSpeakerIndependent, speakerIndependentSplit, speakersOf } from '../../lib/data/splits';
import type { Clip } from '../../lib/data/types';

/** s1 holds most of the corpus (like GRID's s1), s2..s7 a few clips each; sexes unknown. */
const clips: Clip[] = [
  ...Array.from({ length: 40 }, (_, i) => ({ id: `s1-${i}`, corpus: 't', speaker: 's1' })),
  ...['s2', 's3', 's4', 's5', 's6', 's7'].flatMap((s) => Array.from({ length: 3 }, (_, i) => ({ id: `${s}-${i}`, corpus: 't', speaker: s }))),
];
const speakersIn = (ids: string[]): string[] => speakersOf(clips.filter((c) => ids.includes(c.id)));

test('speakerIndependentSplit with alwaysTrain keeps s1 in train and draws dev/test from the other speakers', () => {
  for (let seed = 0; seed < 30; seed++) {
    const sp = speakerIndependentSplit(clips, { seed, dev: 2, test: 2, alwaysTrain: ['s1'] });
    assertSpeakerIndependent(sp, clips);
    const train = speakersIn(sp.train), dev = speakersIn(sp.dev), test = speakersIn(sp.test);
    assert.ok(train.includes('s1'), `seed ${seed}: s1 trains`);
    assert.ok(!dev.includes('s1') && !test.includes('s1'), `seed ${seed}: s1 never held out`);
    assert.equal(dev.length, 2);
    assert.equal(test.length, 2);
    assert.equal(train.length, 3); // s1 + the 2 others left
    assert.equal(sp.train.length + sp.dev.length + sp.test.length, clips.length);
  }
  // seeded: the same seed gives the same split
  assert.deepEqual(speakerIndependentSplit(clips, { seed: 4, dev: 2, test: 2, alwaysTrain: ['s1'] }), speakerIndependentSplit(clips, { seed: 4, dev: 2, test: 2, alwaysTrain: ['s1'] }));
  // without the option s1 is drawn like any other speaker for some seed: the option is what keeps it in train
  assert.ok(Array.from({ length: 30 }, (_, seed) => speakerIndependentSplit(clips, { seed, dev: 2, test: 2 })).some((sp) => !speakersIn(sp.train).includes('s1')));
});

test('alwaysTrain: fractions count the other speakers; too few of them left is refused', () => {
  const sp = speakerIndependentSplit(clips, { seed: 1, dev: 1 / 6, test: 0.5, alwaysTrain: ['s1'] });
  assert.equal(speakersIn(sp.test).length, 3); // 0.5 x 6, not 0.5 x 7 (= 4 after rounding)
  assert.equal(speakersIn(sp.dev).length, 1);
  assert.throws(() => speakerIndependentSplit(clips, { seed: 1, dev: 3, test: 3, alwaysTrain: ['s1'] }), /leave none of the 6 speakers for training/);
  // an alwaysTrain speaker that is not in the corpus changes nothing
  assert.deepEqual(speakerIndependentSplit(clips, { seed: 2, dev: 2, test: 2, alwaysTrain: ['nobody'] }).test, speakerIndependentSplit(clips, { seed: 2, dev: 2, test: 2 }).test);
});
