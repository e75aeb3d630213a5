/**
 * SER on any labelled corpus (lib/finetune/protocols corpusFolds / serProtocol) and the settings that
 * select it (lib/experiments/goncalves2022): fold rules with known answers, classes, cross-corpus
 * pairs, the held-out rule of per-fold pretraining, and the default EmoDB experiment unchanged.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Clip, Emotion } from '../../lib/data/types';
import { corpusRef } from '../../lib/data/corpora';
import { goncalves2022Settings, serExperimentSettings } from '../../lib/experiments/goncalves2022';
import { heldOutFor } from '../../lib/finetune/foldPretraining';
import { corpusClasses, corpusFolds, serProtocol } from '../../lib/finetune/protocols';
import { pretrainSettingsFor } from '../../lib/experiments/goncalves2022';
import { makeFolderCorpus } from '../corpus/shared';

const work = mkdtempSync(join(tmpdir(), 'emolab-corpus-protocol-'));
after(() => rmSync(work, { recursive: true, force: true }));

const clips = (speakers: number, perSpeaker = 2): Clip[] => Array.from({ length: speakers * perSpeaker }, (_, i) => ({
  id: `wav/s${Math.floor(i / perSpeaker)}/c${i}`, corpus: 'x', speaker: `s${String(Math.floor(i / perSpeaker)).padStart(2, '0')}`,
  emotion: (['anger', 'sadness'] as Emotion[])[i % 2], audioPath: `/x/${i}.wav`,
}));

test('corpusFolds: leave-one-speaker-out up to 10 speakers (dev = next speaker from 3 on), leave-k-out beyond', () => {
  const two = corpusFolds(clips(2));
  assert.deepEqual(two.folds.map((f) => [f.name, f.test.length, f.dev.length, f.train.length]), [['fold1-test-s00', 2, 0, 2], ['fold2-test-s01', 2, 0, 2]]);
  assert.match(two.folding, /no dev speaker, fixed epoch budget/);
  const three = corpusFolds(clips(3));
  assert.deepEqual(three.folds.map((f) => [f.test[0].speaker, f.dev[0].speaker, f.train.map((c) => c.speaker)[0]]), [['s00', 's01', 's02'], ['s01', 's02', 's00'], ['s02', 's00', 's01']]);
  const twelve = corpusFolds(clips(12));
  assert.equal(twelve.folds.length, 4, '12 speakers, 3 per fold (ceil(12/5))');
  assert.ok(twelve.folds.every((f) => new Set(f.test.map((c) => c.speaker)).size === 3 && new Set(f.dev.map((c) => c.speaker)).size === 3));
  assert.match(twelve.folding, /leave-3-speakers-out, 4 folds/);
  assert.throws(() => corpusFolds(clips(1)), /at least 2 speakers/);
});

test('corpusClasses: the six shared classes in their order, then the others', () => {
  const cs = (es: Emotion[]) => es.map((emotion, i) => ({ id: `${i}`, corpus: 'x', speaker: 'a', emotion }));
  assert.deepEqual(corpusClasses(cs(['surprise', 'sadness', 'anger', 'calm', 'anger'])), ['anger', 'sadness', 'calm', 'surprise']);
});

test('serProtocol on folder corpora: six classes or the corpus\'s own; cross-corpus tests every clip of the other corpus, speakers kept apart', () => {
  const a = makeFolderCorpus({ speakers: ['03', '08'], perEmotion: 1, emotions: ['anger', 'neutral', 'boredom'] }, mkdtempSync(join(work, 'a-')));
  const b = makeFolderCorpus({ speakers: ['09', '10', '11'], perEmotion: 1, emotions: ['anger', 'neutral', 'boredom'], speakerName: (s) => (s === '09' ? 'spk-03' : `spk-${s}`) }, mkdtempSync(join(work, 'b-')));
  const six = serProtocol({ corpus: a.root, testCorpus: null, classes: 'six' });
  assert.equal(six.protocol, `corpus:${corpusRef(a.root).key}`);
  assert.equal(six.folds.length, 2);
  assert.deepEqual(six.noDev, six.folds.map((f) => f.name));
  assert.ok(six.folds.every((f) => f.test.every((c) => c.emotion !== 'boredom')), `boredom is not one of the six: ${JSON.stringify(six.folds.map((f) => f.test.map((c) => c.emotion)))}`);
  const own = serProtocol({ corpus: a.root, testCorpus: null, classes: 'corpus' });
  assert.deepEqual(own.classes, ['anger', 'neutral', 'boredom']);
  const cross = serProtocol({ corpus: a.root, testCorpus: b.root, classes: 'corpus' });
  assert.equal(cross.folds.length, 1);
  const f = cross.folds[0];
  assert.deepEqual(f.test.map((c) => c.id).sort(), b.rows.map((r) => r.file.replace(/\.wav$/, '')).sort(), 'every labelled clip of the test corpus');
  assert.ok(f.test.every((c) => c.speaker.startsWith(`${corpusRef(b.root).key}:`)) && f.train.every((c) => c.speaker.startsWith(`${corpusRef(a.root).key}:`)), 'speakers prefixed by their corpus key');
  // "spk-03" exists in both corpora: prefixed, they are two people, and the fold stays speaker-independent
  assert.ok(!f.test.some((t) => [...f.train, ...f.dev].some((c) => c.speaker === t.speaker)), 'no speaker in both');
  assert.equal(f.dev.length > 0, true, 'dev: one of the two training speakers');
});

test('settings: a folder corpus names its experiment; the default EmoDB experiment and its settings are unchanged; bad values refused', () => {
  const d = goncalves2022Settings('cpu');
  assert.equal(d.experiment, 'emodb-cpu');
  const ser = serExperimentSettings(d, '/r');
  assert.equal(ser.protocol, 'emodb');
  assert.equal(ser.featureStore, '/r/features/emodb');
  assert.equal(pretrainSettingsFor(d, 'energy', { root: '/r' }).data, 'emodb');
  const a = makeFolderCorpus({ speakers: ['03', '08'], perEmotion: 1 }, mkdtempSync(join(work, 'c-')));
  const key = corpusRef(a.root).key;
  const s = goncalves2022Settings('ci', { finetune: { corpus: a.root } });
  assert.equal(s.experiment, `${key}-ci`);
  assert.equal(goncalves2022Settings('ci', { finetune: { corpus: a.root, hyper: { epochs: 2 } } }).experiment.startsWith(`${key}-ci-`), true);
  assert.equal(goncalves2022Settings('ci', { finetune: { corpus: 'emodb', testCorpus: a.root } }).experiment, `emodb-to-${key}-ci`);
  const fs = serExperimentSettings(s, '/r');
  assert.equal(fs.featureStore, `/r/features/${key}`);
  assert.equal(pretrainSettingsFor(s, 'energy', { root: '/r' }).data, a.root, 'task 1 pretrains on the SER corpus');
  assert.throws(() => goncalves2022Settings('ci', { finetune: { classes: 'seven' as 'six' } }), /finetune.classes must be six or corpus/);
  assert.throws(() => goncalves2022Settings('ci', { finetune: { corpus: a.root, testCorpus: a.root } }), /testCorpus is the training corpus/);
  assert.throws(() => goncalves2022Settings('ci', { finetune: { corpus: join(work, 'missing') } }), /unknown corpus/);
  assert.throws(() => goncalves2022Settings('ci', { finetune: { hyper: { epochs: -3 } } }), /finetune.hyper.epochs must be a positive integer, got -3/);
});

test('heldOutFor: per-fold pretraining on a corpus with fewer than 3 speakers outside the test fold trains without a held-out split', () => {
  const s = goncalves2022Settings('ci');
  const base = pretrainSettingsFor(s, 'energy', { fold: { name: 'f', test: ['s00'] }, root: '/r' });
  const [fold2] = corpusFolds(clips(2)).folds;
  const [fold4] = corpusFolds(clips(4)).folds;
  assert.deepEqual(heldOutFor(base, fold2, 'emodb').split, { devSpeakers: 0, testSpeakers: 0 });
  assert.equal(heldOutFor(base, fold4, 'emodb'), base, 'enough speakers: the same settings (same fingerprint)');
  const av = pretrainSettingsFor(s, 'activation', { root: '/r' });
  assert.equal(heldOutFor(av, fold2, 'emodb'), av, 'other corpora keep their split');
});
