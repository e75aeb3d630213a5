/**
 * Bad metadata: CSVs with missing columns or stray whitespace, label codes outside a corpus' code
 * book, partitions naming clips that do not exist, and a speaker in both train and test. Each is
 * either a clear EmolabError naming the file (the table cannot be used at all) or a quarantined row
 * with the line and the reason (one bad row), never a crash or a silent wrong split.
 * (Ragged rows and a leaked speaker in a hand-made split are covered in test/data/core.test.ts.)
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { folderManifest } from '../../lib/data/folder';
import { cremadManifest, loadCremadPartition, parseCremadName } from '../../lib/data/cremad';
import { splitClips } from '../../lib/data/splits';
import type { Manifest } from '../../lib/data/types';
import { EmolabError } from '../../lib/errors';
import { datasetsDir } from '../audio/shared';
import { hostileTmp, removeTmp, writeSyntheticCorpus } from './shared';

let dir = '';
before(() => {
  dir = hostileTmp('metadata');
  writeSyntheticCorpus(dir, 2, 2, 0.2); // wav/spk0 clip 0.wav ... and a labels.csv we overwrite per case
});
after(() => removeTmp(dir));

const withLabels = (csv: string): string => { writeFileSync(join(dir, 'labels.csv'), csv); return join(dir, 'labels.csv'); };
const isDataError = (file: string, re: RegExp) => (e: unknown): boolean => e instanceof EmolabError && e.stage === 'data' && e.file === file && re.test(e.message);

test('folder CSV without a file or emotion column is refused, naming the CSV and the columns looked for', () => {
  const f1 = withLabels('speaker,emotion\ns1,happy\n');
  assert.throws(() => folderManifest(dir), isDataError(f1, /no file column \(looked for file, path, filename/));
  const f2 = withLabels('file,speaker\nwav/spk0 clip 0.wav,spk0\n');
  assert.throws(() => folderManifest(dir), isDataError(f2, /no emotion column/));
  assert.equal(folderManifest(dir, { allowUnlabeled: true }).clips.length, 1, 'unless the corpus is declared unlabeled');
  const f3 = withLabels('');
  assert.throws(() => folderManifest(dir), isDataError(f3, /empty/));
  const f4 = withLabels('file,emotion\n"wav/spk0 clip 0.wav,happy\n');
  assert.throws(() => folderManifest(dir), isDataError(f4, /cannot parse CSV/));
});

test('stray whitespace around headers and values does not invent speakers, lose files or labels', () => {
  withLabels(' File , Speaker ,emotion \nwav/spk0 clip 0.wav , spk0,  happy\n wav/spk0 clip 1.wav,spk0 ,Sad \nwav/spk1 clip 0.wav,spk1,neutral\n');
  const m = folderManifest(dir);
  assert.deepEqual(m.quarantine, []);
  assert.deepEqual(m.clips.map((c) => [c.id, c.speaker, c.emotion]), [
    ['wav/spk0 clip 0', 'spk0', 'happiness'], ['wav/spk0 clip 1', 'spk0', 'sadness'], ['wav/spk1 clip 0', 'spk1', 'neutral'],
  ]);
});

test('unknown label codes: quarantined per row in a folder corpus, a named error for a CREMA-D clip name', () => {
  const csv = withLabels('file,speaker,emotion\nwav/spk0 clip 0.wav,spk0,XYZ\nwav/spk0 clip 1.wav,spk0,happy\nwav/spk1 clip 0.wav,spk1,\n');
  const m = folderManifest(dir);
  assert.deepEqual(m.clips.map((c) => c.id), ['wav/spk0 clip 1']);
  assert.deepEqual(m.quarantine.map((q) => q.reason), ['unknown emotion "XYZ"', 'no emotion label']);
  assert.equal(m.quarantine[0].file, join(dir, 'wav/spk0 clip 0.wav'));
  assert.ok(csv.endsWith('labels.csv'));
  assert.throws(() => parseCremadName('1001_DFA_XYZ_XX.wav'), isDataError('1001_DFA_XYZ_XX.wav', /unknown CREMA-D emotion code "XYZ"/));
  assert.throws(() => parseCremadName('1001_DFA_ANG_ZZ'), /unknown CREMA-D level "ZZ"/);
  assert.throws(() => parseCremadName('2001_DFA_ANG_XX'), /actor id 2001 outside 1001-1091/);
});

const haveCremad = (): boolean => existsSync(join(datasetsDir(), 'crema-d', 'VideoDemographics.csv'));

test('CREMA-D partitions: rows naming unknown clips are quarantined with the line; a speaker in both train and test is refused', { skip: !haveCremad() && 'no CREMA-D metadata in EMOLAB_DATA' }, () => {
  const base: Manifest = cremadManifest(join(datasetsDir(), 'crema-d'));
  const root = join(dir, 'crema');
  mkdirSync(join(root, 'partitions'), { recursive: true });
  const file = join(root, 'partitions', 'label_consensus_6class_M_1.csv');
  const head = 'FileName,angry,sad,disgust,fear,neutral,happy,SpkrID,Gender,Split_Set';
  const row = (name: string, spk: string, set: string, angry = '0.9'): string => `${name},${angry},0.02,0.02,0.02,0.02,0.02,${spk},Male,${set}`;
  writeFileSync(file, [head,
    row('1001_DFA_ANG_XX.wav', '1001', 'Train'),
    row('1002_DFA_ANG_XX.wav', '1002', 'Development'),
    row('1003_DFA_ANG_XX.wav', '1003', 'Test'),
    row('1001_XYZ_ANG_XX.wav', '1001', 'Train'),       // unknown sentence code
    row('1004_DFA_ANG_XX.wav', '1004', 'Holdout'),     // unknown set name
    row('1005_DFA_ANG_XX.wav', '1099', 'Train'),       // SpkrID disagrees with the name
    row('1006_DFA_ANG_XX.wav', '1006', 'Train', 'n/a'), // soft label not a number
    row('1007_DFA_ANG_XX.wav', '1007', 'Train'),       // a clip the corpus does not have (taken out of base below)
  ].join('\n') + '\n');
  const p = loadCremadPartition(1, root, { base: { ...base, clips: base.clips.filter((c) => c.id !== '1007_DFA_ANG_XX') } });
  assert.deepEqual(p.split, { name: 'crema-d-partition-1', train: ['1001_DFA_ANG_XX'], dev: ['1002_DFA_ANG_XX'], test: ['1003_DFA_ANG_XX'] });
  const q = p.manifest.quarantine.filter((x) => x.stage === 'crema-d-partition');
  assert.deepEqual(q.map((x) => x.file), [5, 6, 7, 8, 9].map((line) => `${file}:${line}`));
  assert.match(q[0].reason, /unknown CREMA-D sentence code "XYZ"/);
  assert.match(q[1].reason, /unknown Split_Set "Holdout"/);
  assert.match(q[2].reason, /SpkrID 1099 differs/);
  assert.match(q[3].reason, /soft label angry="n\/a" is not a number/);
  assert.match(q[4].reason, /1007_DFA_ANG_XX: not in the CREMA-D manifest/);

  // actor 1001 in Train and in Test: the partition is refused
  writeFileSync(file, [head, row('1001_DFA_ANG_XX.wav', '1001', 'Train'), row('1002_DFA_ANG_XX.wav', '1002', 'Development'), row('1001_IEO_ANG_HI.wav', '1001', 'Test')].join('\n') + '\n');
  assert.throws(() => loadCremadPartition(1, root, { base }), (e: unknown) => e instanceof EmolabError && /speaker 1001 is in both train and test/.test(e.message));
  // a missing required column names the file and the column
  writeFileSync(file, 'FileName,angry,SpkrID\n1001_DFA_ANG_XX.wav,1,1001\n');
  assert.throws(() => loadCremadPartition(1, root, { base }), isDataError(file, /lacks column\(s\) sad, disgust, fear, neutral, happy, Gender, Split_Set/));
});

test('a split naming a clip that is not in the manifest is an error naming split and clip', () => {
  withLabels('file,speaker,emotion\nwav/spk0 clip 0.wav,spk0,happy\nwav/spk1 clip 0.wav,spk1,sad\n');
  const m = folderManifest(dir);
  assert.throws(() => splitClips(m, { name: 's', train: ['wav/spk0 clip 0'], dev: [], test: ['wav/spk9 clip 0'] }), /split "s": clip wav\/spk9 clip 0 is not in the/);
});
