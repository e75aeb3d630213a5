import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, copyFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmolabError } from '../../lib/errors';
import {
  parseRavdessName, ravdessManifest, parseMeadPath, meadManifest, folderManifest, unlabeledAvManifest, csvRecords,
} from '../../lib/data';
import { SHARED } from './shared';

const WAV = join(SHARED, 'emodb', 'wav', '03a01Fa.wav');
/** The first bytes of an MP4 (an ftyp box); enough for the signature check. */
const MP4 = Buffer.from('\0\0\0\x18ftypisom\0\0\x02\0isomiso2', 'latin1');
const isDataError = (name: string) => (e: unknown) => e instanceof EmolabError && e.stage === 'data' && e.message.includes(`[${name || '(empty name)'}]`);

test('parseRavdessName: a real name decoded field by field', () => {
  assert.deepEqual(parseRavdessName('Actor_12/03-01-06-01-02-01-12.wav'), {
    name: '03-01-06-01-02-01-12', recording: '01-06-01-02-01-12', modality: 'audio-only', channel: 'speech', emotion: 'fear',
    intensity: 'normal', statement: '02', repetition: '01', actor: '12', sex: 'F',
  });
  assert.equal(parseRavdessName('02-01-08-02-01-02-01.mp4').modality, 'video-only');
  assert.equal(parseRavdessName('02-01-08-02-01-02-01.mp4').sex, 'M');
  assert.equal(parseRavdessName('01-02-02-01-01-01-24').channel, 'song');
});

test('parseRavdessName: all 1,440 real clip ids of the RAVDESS OpenFace table parse, emotions agree', () => {
  const recs = csvRecords(readFileSync(join(SHARED, 'ravdess-openface', 'au_mfcc.csv'), 'utf8'));
  assert.equal(recs.length, 1440);
  const names: Record<string, string> = { neutral: 'neutral', calm: 'calm', happy: 'happiness', sad: 'sadness', angry: 'anger', fearful: 'fear', disgust: 'disgust', surprised: 'surprise' };
  const actors = new Set<string>();
  for (const r of recs) {
    const p = parseRavdessName(r.clip_id);
    assert.equal(p.emotion, names[r.emotion_from_filename], r.clip_id);
    assert.equal(p.actor, r.actor.padStart(2, '0'));
    actors.add(p.actor);
  }
  assert.equal(actors.size, 24);
});

test('parseRavdessName: malformed names', () => {
  for (const bad of ['03-01-09-01-01-01-01.wav', '04-01-01-01-01-01-01.wav', '03-03-01-01-01-01-01.wav', '03-01-01-02-01-01-01.wav',
    '03-02-07-01-01-01-01.wav', '03-01-01-01-03-01-01.wav', '03-01-01-01-01-03-01.wav', '03-01-01-01-01-01-25.wav', '03-01-01-01-01-01-00.wav',
    '03-01-01-01-01-01.wav', '3-1-1-1-1-1-1.wav', 'Actor_01', '']) {
    assert.throws(() => parseRavdessName(bad), isDataError(bad), bad);
  }
});

test('RAVDESS manifest: audio-only WAV and audio-video MP4 of a take are one clip; bad files quarantined', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ravdess-'));
  mkdirSync(join(dir, 'Actor_01')); mkdirSync(join(dir, 'Video_Actor_01'));
  copyFileSync(WAV, join(dir, 'Actor_01', '03-01-05-02-01-01-01.wav'));
  writeFileSync(join(dir, 'Video_Actor_01', '01-01-05-02-01-01-01.mp4'), MP4);
  writeFileSync(join(dir, 'Video_Actor_01', '02-01-05-02-01-01-01.mp4'), MP4); // video-only duplicate of the take: redundant
  copyFileSync(WAV, join(dir, 'Actor_01', '03-02-03-01-01-01-01.wav')); // song: skipped by default
  writeFileSync(join(dir, 'Actor_01', '03-01-04-01-01-01-01.wav'), ''); // zero-length
  writeFileSync(join(dir, 'Actor_01', '03-01-99-01-01-01-01.wav'), 'x'); // unknown emotion
  const m = ravdessManifest(dir);
  assert.equal(m.clips.length, 1);
  const c = m.clips[0];
  assert.equal(c.id, '01-05-02-01-01-01');
  assert.equal(c.emotion, 'anger'); assert.equal(c.speaker, '01'); assert.equal(c.sex, 'M');
  assert.ok(c.audioPath!.endsWith('03-01-05-02-01-01-01.wav'));
  assert.ok(c.videoPath!.endsWith('01-01-05-02-01-01-01.mp4'));
  assert.ok(Math.abs(c.durationS! - 1.89825) < 1e-5);
  assert.equal(m.quarantine.length, 2, JSON.stringify(m.quarantine));
  assert.equal(ravdessManifest(dir, { channel: 'both' }).clips.length, 2);
});

test('parseMeadPath: official tree, DreamTalk and crop names', () => {
  assert.deepEqual(parseMeadPath('M003/video/front/angry/level_1/001.mp4'), { id: 'M003_angry_level1_001', speaker: 'M003', sex: 'M', kind: 'video', view: 'front', emotion: 'anger', level: 1, utterance: '001' });
  assert.deepEqual(parseMeadPath('W009/audio/surprised/level_3/024.m4a'), { id: 'W009_surprised_level3_024', speaker: 'W009', sex: 'F', kind: 'audio', emotion: 'surprise', level: 3, utterance: '024' });
  assert.equal(parseMeadPath('M003/video/left_30/contempt/level_2/005.mp4').view, 'left_30');
  assert.deepEqual(parseMeadPath('dreamtalk/W011_front_disgusted_level3_001.mp4').id, 'W011_disgusted_level3_001');
  const crop = parseMeadPath('crop/M030_sad_3_001.mp4');
  assert.equal(crop.id, 'M030_sad_level3_001'); assert.equal(crop.view, undefined);
});

test('parseMeadPath: malformed paths', () => {
  for (const bad of ['M003/video/front/joyful/level_1/001.mp4', 'M003/video/side/angry/level_1/001.mp4', 'M003/video/front/angry/level_4/001.mp4',
    'M003/video/front/neutral/level_2/001.mp4', 'X003/video/front/angry/level_1/001.mp4', 'M003/audio/angry/level_1/001.mp4',
    'M003/video/front/angry/level_1/1.mp4', 'video/contempt.mp4', '']) {
    assert.throws(() => parseMeadPath(bad), isDataError(bad), bad);
  }
});

test('MEAD manifest on the real DreamTalk clips: 24 clips, 3 speakers x 8 emotions, front view', () => {
  const m = meadManifest(join(SHARED, 'mead-samples', 'dreamtalk'));
  assert.equal(m.clips.length, 24);
  assert.equal(m.quarantine.length, 0);
  assert.deepEqual([...new Set(m.clips.map((c) => c.speaker))].sort(), ['M030', 'W009', 'W011']);
  assert.equal(new Set(m.clips.map((c) => c.emotion)).size, 8);
  assert.equal(m.clips.filter((c) => c.sex === 'F').length, 16);
});

test('MEAD manifest on a tree: video + audio joined, other views skipped, mismatched names quarantined', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mead-'));
  for (const d of ['M003/video/front/angry/level_1', 'M003/video/left_30/angry/level_1', 'M003/audio/angry/level_1']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'M003/video/front/angry/level_1/001.mp4'), MP4);
  writeFileSync(join(dir, 'M003/video/left_30/angry/level_1/001.mp4'), MP4);
  writeFileSync(join(dir, 'M003/audio/angry/level_1/001.m4a'), MP4);
  writeFileSync(join(dir, 'M003/audio/angry/level_1/002.m4a'), '');
  writeFileSync(join(dir, 'M003/audio/angry/level_1/003.m4a'), 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12345\n');
  writeFileSync(join(dir, 'M003/video/front/angry/level_1/004.mp4'), '<!DOCTYPE html><html>Not found</html>');
  const m = meadManifest(dir);
  assert.equal(m.clips.length, 1);
  assert.ok(m.clips[0].videoPath!.includes('/front/')); assert.ok(m.clips[0].audioPath!.endsWith('001.m4a'));
  assert.deepEqual(m.quarantine.map((q) => q.reason).sort(), ['an HTML page, not media (failed download?)', 'git-lfs pointer, not media (run: git lfs pull)', 'zero-length file']);
  assert.ok(meadManifest(dir, { view: 'left_30' }).clips[0].videoPath!.includes('/left_30/'));
});

test('folder adapter on the real mead-samples labels.csv: 7 clips, audio only where the CSV says so', () => {
  const m = folderManifest(join(SHARED, 'mead-samples'), { corpus: 'mead-samples' });
  assert.equal(m.clips.length, 7);
  const byId = new Map(m.clips.map((c) => [c.id, c]));
  assert.equal(byId.get('crop/M030_sad_3_001')!.emotion, 'sadness');
  assert.equal(byId.get('crop/M030_sad_3_001')!.speaker, 'M030');
  assert.equal(byId.get('video/contempt')!.audioPath, undefined);
  assert.equal(byId.get('video/disgusted')!.emotion, 'disgust');
  assert.equal(byId.get('video/surprised')!.durationS, 12.437333);
});

test('folder adapter: unknown emotions, missing and empty files, unlabeled rows quarantined; WAV durations from headers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'folder-'));
  copyFileSync(WAV, join(dir, 'a.wav'));
  writeFileSync(join(dir, 'empty.wav'), '');
  writeFileSync(join(dir, 'labels.csv'), 'path,Speaker,Label,Gender\na.wav,s1,Angry,female\nb.wav,s1,sad,F\nempty.wav,s2,sad,M\na.wav,s1,happy,F\nc.wav,s3,elated,M\nd.txt,s3,sad,M\ne.wav,s3,,M\n');
  const m = folderManifest(dir, { corpus: 'toy' });
  assert.deepEqual(m.clips.map((c) => [c.id, c.speaker, c.emotion, c.sex]), [['a', 's1', 'anger', 'F']]);
  assert.ok(Math.abs(m.clips[0].durationS! - 1.89825) < 1e-5);
  const reasons = m.quarantine.map((q) => q.reason).sort();
  assert.deepEqual(reasons, ['duplicate id "a" (first seen at ' + join(dir, 'a.wav') + ')', 'missing on disk', 'no emotion label', 'unknown emotion "elated"', 'unknown media type ".txt"', 'zero-length file'].sort());
  assert.throws(() => folderManifest(join(dir, 'nope')), (e: unknown) => e instanceof EmolabError && /labels CSV not found/.test(e.message));
  writeFileSync(join(dir, 'other.csv'), 'name,emotion\na.wav,sad\n');
  assert.throws(() => folderManifest(dir, { labels: 'other.csv' }), (e: unknown) => e instanceof EmolabError && /no file column/.test(e.message));
  assert.equal(folderManifest(dir, { labels: 'other.csv', columns: { file: 'name' } }).clips.length, 1);
});

test('unlabeled audio-visual speech: 30 real clips, 255 s, no emotion, audio inside the MP4', () => {
  const m = unlabeledAvManifest(join(SHARED, 'av-speech-unlabeled'));
  assert.equal(m.clips.length, 30);
  assert.equal(m.quarantine.length, 0);
  const total = m.clips.reduce((s, c) => s + c.durationS!, 0);
  assert.ok(Math.abs(total - 255.18) < 0.05, String(total));
  assert.ok(m.clips.every((c) => c.emotion === undefined && c.audioPath === c.videoPath && c.videoPath!.endsWith('.mp4')));
  assert.deepEqual([...new Set(m.clips.map((c) => c.extra!.source))].sort(), ['hdtf_edtalk', 'hdtf_sadtalker', 'lrs2_deep_avsr', 'video_retalking', 'voxceleb2_pcavs']);
  assert.ok(m.clips.some((c) => c.id === 'hdtf_edtalk/uncrop_Obama' && c.speaker === 'Obama'));
});
