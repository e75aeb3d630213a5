import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  intendedVsPerceived, readCremadVotes, speakerEmotionTable, durationTable, splitSpeakerTable, splitFromSpeakers,
  agreementFigure, classBalanceFigure, splitFigure, type Clip, type CremadVotes,
} from '../../lib/data';
import { SHARED } from './shared';

const clips: Clip[] = [
  { id: 'a', corpus: 't', speaker: 's1', sex: 'F', emotion: 'anger', durationS: 1 },
  { id: 'b', corpus: 't', speaker: 's1', sex: 'F', emotion: 'sadness', durationS: 3 },
  { id: 'c', corpus: 't', speaker: 's2', sex: 'M', emotion: 'anger', durationS: 2 },
  { id: 'd', corpus: 't', speaker: 's3', sex: 'M', emotion: 'boredom' },
];

test('speakerEmotionTable and durationTable on hand-made clips', () => {
  assert.deepEqual(speakerEmotionTable(clips), [
    { speaker: 's1', sex: 'F', age: '', anger: 1, sadness: 1, boredom: 0, total: 2, minutes: 0.07 },
    { speaker: 's2', sex: 'M', age: '', anger: 1, sadness: 0, boredom: 0, total: 1, minutes: 0.03 },
    { speaker: 's3', sex: 'M', age: '', anger: 0, sadness: 0, boredom: 1, total: 1, minutes: 0 },
  ]);
  const d = durationTable(clips);
  assert.deepEqual(d.map((r) => [r.emotion, r.clips, r.mean_s]), [['anger', 2, 1.5], ['sadness', 1, 3], ['all', 3, 2]]);
});

test('splitSpeakerTable and splitFigure: one row/bar per speaker in its set', () => {
  const s = splitFromSpeakers('x', clips, { dev: ['s2'], test: ['s3'] });
  assert.deepEqual(splitSpeakerTable(s, clips), [
    { speaker: 's3', sex: 'M', set: 'test', clips: 1 }, { speaker: 's2', sex: 'M', set: 'dev', clips: 1 }, { speaker: 's1', sex: 'F', set: 'train', clips: 2 },
  ]);
  const f = splitFigure(s, clips);
  assert.deepEqual(f.data.map((t) => t.y), [[1], [1], [2]]);
});

test('intendedVsPerceived on hand-made votes', () => {
  const votes: CremadVotes = new Map([
    ['1001_DFA_ANG_XX', { voice: { anger: 3, fear: 1 } }],
    ['1001_DFA_SAD_XX', { voice: { neutral: 2, sadness: 2 } }], // tie
    ['1002_DFA_SAD_XX', { voice: { neutral: 3, sadness: 1 } }],
  ]);
  const m = intendedVsPerceived(votes, 'voice');
  assert.equal(m.clips, 3);
  assert.equal(m.clipAgreement, 1 / 3);
  assert.equal(m.voteAgreement, (3 + 2 + 1) / 12);
  assert.equal(m.counts[0][0], 1);
  assert.equal(m.counts[5][6], 1, 'tie column');
  assert.equal(m.counts[5][4], 1);
  const f = agreementFigure(m);
  assert.deepEqual((f.data[0].z as number[][])[5], [0, 0, 0, 0, 50, 0, 50]);
});

test('CREMA-D: raters recognise the intended emotion least from voice alone (vote-level ~40.9/58.2/63.6% in Cao et al. 2014)', () => {
  const v = readCremadVotes(join(SHARED, 'crema-d'));
  const voice = intendedVsPerceived(v, 'voice'), face = intendedVsPerceived(v, 'face'), av = intendedVsPerceived(v, 'audiovisual');
  assert.ok(Math.abs(voice.voteAgreement - 0.409) < 0.015, String(voice.voteAgreement));
  assert.ok(Math.abs(face.voteAgreement - 0.582) < 0.015, String(face.voteAgreement));
  assert.ok(Math.abs(av.voteAgreement - 0.636) < 0.015, String(av.voteAgreement));
  assert.equal(voice.clips, 7442);
});

test('classBalanceFigure: percentages per emotion', () => {
  const f = classBalanceFigure([{ name: 't', clips }]);
  assert.deepEqual(f.data[0].x, ['anger', 'sadness', 'boredom']);
  assert.deepEqual(f.data[0].y, [50, 25, 25]);
});
