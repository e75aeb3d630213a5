import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from '../../lib/paths';
import { SIX_EMOTIONS, type Clip } from '../../lib/data/types';
import { cremadProtocol, emodbProtocol, stratifiedSubset } from '../../lib/finetune/protocols';

process.env.EMOLAB_DATA ??= resolve(repoRoot, '../shared/datasets');

test('EmoDB protocol: six classes, 5 speaker-independent folds whose test sets cover all 454 clips once', () => {
  const p = emodbProtocol();
  assert.deepEqual([...p.classes], [...SIX_EMOTIONS]);
  assert.equal(p.folds.length, 5);
  const tested = p.folds.flatMap((f) => f.test.map((c) => c.id));
  assert.equal(tested.length, 454); // 535 clips minus 81 boredom
  assert.equal(new Set(tested).size, 454);
  for (const f of p.folds) {
    const test = new Set(f.test.map((c) => c.speaker));
    assert.equal(test.size, 2);
    for (const c of [...f.train, ...f.dev]) assert.ok(!test.has(c.speaker), `${f.name}: ${c.speaker} leaks`);
    for (const c of [...f.train, ...f.dev, ...f.test]) assert.ok(p.label(c) >= 0 && p.label(c) < 6);
  }
  assert.equal(p.folds[0].name, 'fold1-test-08+03');
});

const cremad = (): string => join(process.env.EMOLAB_DATA!, 'crema-d');
const cremadSkip = !existsSync(join(cremad(), 'partitions')) ? 'no CREMA-D partitions in EMOLAB_DATA' : existsSync(join(cremad(), 'AudioWAV')) ? 'CREMA-D audio is present here' : false;

test('CREMA-D protocol refuses clearly when the audio is absent', { skip: cremadSkip }, () => {
  assert.throws(() => cremadProtocol([1]), /CREMA-D audio missing: 0 of 5820 clips of partition 1[\s\S]*AudioWAV/);
});

const clip = (id: string, speaker: string, emotion: Clip['emotion'], durationS = 1): Clip => ({ id, corpus: 'x', speaker, emotion, durationS });

test('stratifiedSubset keeps class shares, every class, and is seeded', () => {
  const clips = [...Array.from({ length: 60 }, (_, i) => clip(`a${i}`, 's', 'anger')), ...Array.from({ length: 20 }, (_, i) => clip(`d${i}`, 's', 'disgust')), clip('f0', 's', 'fear')];
  const label = (c: Clip): number => SIX_EMOTIONS.indexOf(c.emotion!);
  const sub = stratifiedSubset(clips, 20, label, 1);
  const count = (e: string) => sub.filter((c) => c.emotion === e).length;
  assert.equal(count('anger'), 15);
  assert.equal(count('disgust'), 5);
  assert.equal(count('fear'), 1);
  assert.deepEqual(sub.map((c) => c.id), stratifiedSubset(clips, 20, label, 1).map((c) => c.id));
  assert.notDeepEqual(sub.map((c) => c.id), stratifiedSubset(clips, 20, label, 2).map((c) => c.id));
  assert.equal(stratifiedSubset(clips, undefined, label, 1).length, clips.length);
});

