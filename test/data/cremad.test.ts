import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmolabError } from '../../lib/errors';
import {
  parseCremadName, perceivedFromVotes, cremadManifest, loadCremadPartition, mediaPresent, readCremadVotes,
  assertSpeakerIndependent, targetEmotion,
} from '../../lib/data';
import { SHARED } from './shared';

const root = join(SHARED, 'crema-d');

test('parseCremadName: real names', () => {
  assert.deepEqual(parseCremadName('1001_DFA_ANG_XX'), { id: '1001_DFA_ANG_XX', actor: '1001', sentence: 'DFA', emotionCode: 'ANG', emotion: 'anger', level: 'XX' });
  assert.equal(parseCremadName('AudioWAV/1091_WSI_SAD_XX.wav').emotion, 'sadness');
  assert.equal(parseCremadName('1026_IEO_ANG_HI.wav').level, 'HI');
  assert.equal(parseCremadName('VideoFlash/1005_IWW_DIS_XX.flv').emotion, 'disgust');
  assert.equal(parseCremadName('1001_IEO_HAP_LO').emotion, 'happiness');
  assert.equal(parseCremadName('1002_IEO_FEA_MD.mp4').emotion, 'fear');
});

test('parseCremadName: malformed names', () => {
  for (const bad of ['1001_DFA_XYZ_XX', '1001_ABC_ANG_XX', '1001_DFA_ANG_ZZ', '1000_DFA_ANG_XX', '1092_DFA_ANG_XX', '101_DFA_ANG_XX', '1001-DFA-ANG-XX', '1001_DFA_ANG', '1001_dfa_ang_xx', '']) {
    assert.throws(() => parseCremadName(bad), (e: unknown) => e instanceof EmolabError && e.message.includes(`[${bad || '(empty name)'}]`), bad);
  }
});

test('perceivedFromVotes: soft, plurality (ties -> none), majority (> half)', () => {
  assert.deepEqual(perceivedFromVotes({ anger: 7, disgust: 2, fear: 0 }), { soft: { anger: 7 / 9, disgust: 2 / 9 }, raters: 9, plurality: 'anger', majority: 'anger' });
  const p = perceivedFromVotes({ neutral: 4, sadness: 3, fear: 3 });
  assert.equal(p.plurality, 'neutral'); assert.equal(p.majority, undefined);
  const tie = perceivedFromVotes({ neutral: 5, sadness: 5 });
  assert.equal(tie.plurality, undefined); assert.equal(tie.majority, undefined);
  assert.deepEqual(perceivedFromVotes({ anger: 0 }), { raters: 0 });
});

test('CREMA-D votes: three modalities per clip, counts from tabulatedVotes', () => {
  const v = readCremadVotes(root);
  assert.equal(v.size, 7442);
  assert.deepEqual(v.get('1026_IEO_ANG_HI'), {
    voice: { anger: 7, disgust: 2, fear: 0, happiness: 0, neutral: 0, sadness: 0 },
    face: { anger: 10, disgust: 0, fear: 0, happiness: 0, neutral: 0, sadness: 0 },
    audiovisual: { anger: 9, disgust: 0, fear: 1, happiness: 0, neutral: 0, sadness: 0 },
  });
});

test('CREMA-D manifest from metadata alone: 7,442 clips, 91 actors, media paths, none present', () => {
  const m = base();
  assert.equal(m.clips.length, 7442);
  assert.equal(m.quarantine.length, 0);
  const actors = new Set(m.clips.map((c) => c.speaker));
  assert.equal(actors.size, 91);
  const sex = new Map(m.clips.map((c) => [c.speaker, c.sex]));
  assert.equal([...sex.values()].filter((s) => s === 'F').length, 43);
  const c = m.clips.find((x) => x.id === '1001_DFA_ANG_XX')!;
  assert.equal(c.audioPath, join(root, 'AudioWAV', '1001_DFA_ANG_XX.wav'));
  assert.equal(c.videoPath, join(root, 'VideoFlash', '1001_DFA_ANG_XX.flv'));
  assert.equal(c.sex, 'M'); assert.equal(c.age, 51); assert.equal(c.emotion, 'anger');
  assert.deepEqual(mediaPresent(m), { clips: 7442, audio: 0, video: 0 });
});

let fullManifest: ReturnType<typeof cremadManifest> | undefined;
const base = () => (fullManifest ??= cremadManifest(root));

test('CREMA-D partition 1: 4,043/878/899 clips, 63/14/14 actors, no speaker in two sets', () => {
  const p = loadCremadPartition(1, root);
  assert.equal(p.split.train.length, 4043);
  assert.equal(p.split.dev.length, 878);
  assert.equal(p.split.test.length, 899);
  assert.equal(p.manifest.clips.length, 5820);
  assertSpeakerIndependent(p.split, p.manifest.clips);
  const spk = (ids: string[]) => new Set(ids.map((id) => id.slice(0, 4)));
  const [tr, dv, te] = [spk(p.split.train), spk(p.split.dev), spk(p.split.test)];
  assert.deepEqual([tr.size, dv.size, te.size], [63, 14, 14]);
  for (const s of dv) { assert.ok(!tr.has(s)); assert.ok(!te.has(s)); }
  for (const s of te) assert.ok(!tr.has(s));
  const c = p.manifest.clips.find((x) => x.id === '1026_IEO_ANG_HI')!;
  assert.equal(c.perceived?.soft?.anger, 0.856);
  assert.equal(targetEmotion(c), 'anger');
  const sad = p.manifest.clips.find((x) => x.id === '1065_IWL_SAD_XX')!;
  assert.equal(sad.emotion, 'sadness');
  assert.equal(targetEmotion(sad), 'neutral', 'the consensus (perceived) label, not the intended one');
});

test('CREMA-D partitions 2..5 are speaker-independent too; bad index is an error', () => {
  for (const n of [2, 5]) {
    const p = loadCremadPartition(n, root, { base: base() });
    assert.equal(p.split.train.length + p.split.dev.length + p.split.test.length, 5820);
  }
  assert.throws(() => loadCremadPartition(6, root), EmolabError);
});

test('CREMA-D with media folders: missing and empty WAVs quarantined, durations from headers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cremad-'));
  mkdirSync(join(dir, 'AudioWAV'));
  writeFileSync(join(dir, 'VideoDemographics.csv'), '"ActorID","Age","Sex","Race","Ethnicity"\n1001,51,"Male","Caucasian","Not Hispanic"\n');
  writeFileSync(join(dir, 'SentenceFilenames.csv'), '"Stimulus_Number","Filename"\n1,"1001_IEO_NEU_XX"\n2,"1001_IEO_HAP_LO"\n3,"1001_IEO_XXX_LO"\n4,"1002_IEO_NEU_XX"\n5,"1001_DFA_ANG_XX"\n6,"1001_IEO_NEU_XX"\n');
  copyFileSync(join(SHARED, 'emodb/wav/03a01Fa.wav'), join(dir, 'AudioWAV', '1001_IEO_NEU_XX.wav'));
  writeFileSync(join(dir, 'AudioWAV', '1001_IEO_HAP_LO.wav'), '');
  mkdirSync(join(dir, 'VideoMP4'));
  writeFileSync(join(dir, 'VideoMP4', '1001_IEO_NEU_XX.mp4'), Buffer.from('\0\0\0\x18ftypisom', 'latin1'));
  const m = cremadManifest(dir);
  assert.deepEqual(m.clips.map((c) => c.id), ['1001_IEO_NEU_XX']);
  assert.equal(m.clips[0].videoPath, join(dir, 'VideoMP4', '1001_IEO_NEU_XX.mp4'), 'an mp4 conversion is preferred when present');
  assert.deepEqual(mediaPresent(m), { clips: 1, audio: 1, video: 1 });
  assert.ok(Math.abs(m.clips[0].durationS! - 1.89825) < 1e-5);
  const reasons = m.quarantine.map((q) => `${q.file.split('/').pop()}: ${q.reason}`).sort();
  assert.equal(reasons.length, 5, reasons.join('\n'));
  assert.ok(reasons.some((r) => /1001_IEO_HAP_LO\.wav: zero-length/.test(r)));
  assert.ok(reasons.some((r) => /1001_DFA_ANG_XX\.wav: missing on disk/.test(r)));
  assert.ok(reasons.some((r) => /1001_IEO_XXX_LO: unknown CREMA-D emotion code "XXX"/.test(r)));
  assert.ok(reasons.some((r) => /actor 1002 not in VideoDemographics/.test(r)));
  assert.ok(reasons.some((r) => /duplicate id "1001_IEO_NEU_XX"/.test(r)));
});
