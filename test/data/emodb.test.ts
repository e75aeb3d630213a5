import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, copyFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmolabError } from '../../lib/errors';
import { datasetDir } from '../../lib/paths';
import {
  EMODB_LAYOUT, emodbFolds, emodbManifest, parseEmodbName, assertSpeakerIndependent,
  saveManifestCsv, loadManifestCsv, csvRecords,
} from '../../lib/data';
import { SHARED } from './shared';

const root = join(SHARED, 'emodb');

test('parseEmodbName: real names', () => {
  assert.deepEqual(parseEmodbName('03a01Fa.wav'), { id: '03a01Fa', speaker: '03', textId: 'a01', code: 'F', emotion: 'happiness', version: 'a' });
  assert.equal(parseEmodbName('wav/16b10Wb.wav').emotion, 'anger');
  assert.equal(parseEmodbName('08a02Lc').emotion, 'boredom');
  assert.equal(parseEmodbName('13b09Ea.wav').emotion, 'disgust');
  assert.equal(parseEmodbName('11a05Aa.wav').emotion, 'fear');
  assert.equal(parseEmodbName('14a07Ta.wav').emotion, 'sadness');
  assert.equal(parseEmodbName('09b03Nb.wav').emotion, 'neutral');
});

test('parseEmodbName: malformed names are EmolabErrors naming the file', () => {
  for (const bad of ['03a01Xa.wav', '3a01Fa.wav', '03c01Fa.wav', '03a01F.wav', '03a01Faa.wav', '05a01Fa.wav', '03a03Fa.wav', 'readme.txt', '']) {
    assert.throws(() => parseEmodbName(bad), (e: unknown) => e instanceof EmolabError && e.stage === 'data' && e.message.includes(bad), bad);
  }
});

test('EmoDB manifest: 535 clips, 10 speakers, per-emotion counts, durations match labels.csv', () => {
  const m = emodbManifest(root);
  assert.equal(m.clips.length, 535);
  assert.equal(m.quarantine.length, 0);
  assert.equal(new Set(m.clips.map((c) => c.speaker)).size, 10);
  const counts: Record<string, number> = {};
  for (const c of m.clips) counts[c.emotion!] = (counts[c.emotion!] ?? 0) + 1;
  assert.deepEqual(counts, { anger: 127, boredom: 81, neutral: 79, happiness: 71, fear: 69, sadness: 62, disgust: 46 });
  // demographics and durations against the corpus' own labels.csv
  const labels = new Map(csvRecords(readFileSync(join(root, 'labels.csv'), 'utf8')).map((r) => [r.file.replace(/^wav\/|\.wav$/g, ''), r]));
  for (const c of m.clips) {
    const r = labels.get(c.id)!;
    assert.ok(r, c.id);
    assert.equal(c.sex, r.sex.toUpperCase());
    assert.equal(c.age, Number(r.age));
    assert.equal(c.textId, r.text_id);
    assert.ok(Math.abs(c.durationS! - Number(r.duration_s)) < 1e-5, `${c.id} ${c.durationS} vs ${r.duration_s}`);
  }
  const females = new Set(m.clips.filter((c) => c.sex === 'F').map((c) => c.speaker));
  assert.deepEqual([...females].sort(), ['08', '09', '13', '14', '16']);
});

test('EmoDB manifest: boredom dropped by option', () => {
  const m = emodbManifest(root, { boredom: 'drop' });
  assert.equal(m.clips.length, 535 - 81);
  assert.ok(m.clips.every((c) => c.emotion !== 'boredom'));
});

test('EmoDB folds: 5 leave-two-speakers-out folds, one female + one male in test and dev, speaker-independent', () => {
  const m = emodbManifest(root);
  const folds = emodbFolds(m);
  assert.equal(folds.length, 5);
  const testSpeakers = new Set<string>();
  const sexOf = new Map(m.clips.map((c) => [c.speaker, c.sex]));
  const spk = (ids: string[]) => [...new Set(ids.map((id) => m.clips.find((c) => c.id === id)!.speaker))].sort();
  for (const f of folds) {
    assertSpeakerIndependent(f, m.clips);
    assert.equal(f.train.length + f.dev.length + f.test.length, 535);
    const t = spk(f.test), d = spk(f.dev);
    assert.equal(t.length, 2); assert.equal(d.length, 2);
    assert.deepEqual(t.map((s) => sexOf.get(s)).sort(), ['F', 'M']);
    assert.deepEqual(d.map((s) => sexOf.get(s)).sort(), ['F', 'M']);
    assert.equal(spk(f.train).length, 6);
    t.forEach((s) => testSpeakers.add(s));
  }
  assert.equal(testSpeakers.size, 10, 'every speaker is tested exactly once');
  assert.deepEqual(spk(folds[0].test), ['03', '08']);
});

test('EmoDB: bad files go to quarantine, good clips are kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'emodb-'));
  mkdirSync(join(dir, 'wav'));
  copyFileSync(join(root, 'wav', '03a01Fa.wav'), join(dir, 'wav', '03a01Fa.wav'));
  writeFileSync(join(dir, 'wav', '03a01Fb.wav'), '');                  // zero-length
  writeFileSync(join(dir, 'wav', '03a01Xa.wav'), 'RIFF');              // unknown emotion code
  writeFileSync(join(dir, 'wav', '03a02Wa.wav'), 'not a wav at all');  // unreadable header
  writeFileSync(join(dir, 'wav', 'notes.txt'), 'x');
  const m = emodbManifest(dir);
  assert.deepEqual(m.clips.map((c) => c.id), ['03a01Fa']);
  const reasons = Object.fromEntries(m.quarantine.map((q) => [q.file.split('/').pop(), q.reason]));
  assert.match(reasons['03a01Fb.wav'], /zero-length/);
  assert.match(reasons['03a01Xa.wav'], /unknown EmoDB emotion code "X"/);
  assert.match(reasons['03a02Wa.wav'], /unreadable WAV/);
  assert.match(reasons['notes.txt'], /not a \.wav/);
});

test('EmoDB: a missing corpus is a clear error naming EMOLAB_DATA and the fetch command', () => {
  const empty = mkdtempSync(join(tmpdir(), 'nodata-'));
  assert.throws(() => datasetDir(EMODB_LAYOUT, { EMOLAB_DATA: empty }), (e: unknown) =>
    e instanceof EmolabError && /EMOLAB_DATA/.test(e.message) && /emolab data fetch emodb/.test(e.message));
});

test('manifest CSV: save then load gives the same manifest', () => {
  const m = emodbManifest(root);
  m.quarantine.push({ file: '/x/y, "z".wav', stage: 'emodb', reason: 'made-up reason, with comma' });
  m.clips[0].perceived = { soft: { anger: 0.25, happiness: 0.75 }, plurality: 'happiness', majority: 'happiness', raters: 4 };
  const file = join(mkdtempSync(join(tmpdir(), 'man-')), 'emodb.csv');
  saveManifestCsv(m, file);
  const back = loadManifestCsv(file);
  assert.deepEqual(back, m);
});

test('manifest CSV: a bad emotion cell names the line and file', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'man-')), 'bad.csv');
  writeFileSync(file, 'id,corpus,speaker,sex,age,emotion,text_id,duration_s,audio_path,video_path,perceived_plurality,perceived_majority,perceived_raters,perceived_soft,extra,root\n' +
    'a,emodb,03,M,31,angr,a01,1.5,/a.wav,,,,,,,/r\n');
  assert.throws(() => loadManifestCsv(file), (e: unknown) => e instanceof EmolabError && /line 2: unknown emotion "angr"/.test(e.message) && e.file === file);
});
