/**
 * The one corpus argument (lib/data/corpora): names, folders, manifest CSVs, joins, deprecated
 * spellings; delimiter sniffing of labels CSVs; clip ids from any relative path (slashes, spaces,
 * unicode, duplicate basenames) carried intact through manifests, their CSV form and SER folds.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { corpusRef, resolveCorpus } from '../../lib/data/corpora';
import { csvRecords, parseCsv, readCsvRecords, sniffDelimiter } from '../../lib/data/csv';
import { loadManifestCsv, saveManifestCsv } from '../../lib/data/manifest-csv';
import { EmolabError } from '../../lib/errors';
import { corpusFolds } from '../../lib/finetune/protocols';

const work = mkdtempSync(join(tmpdir(), 'emolab-corpora-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A valid 16 kHz mono 16-bit WAV of `n` samples of a ramp. */
function wav(n = 800): Buffer {
  const b = Buffer.alloc(44 + 2 * n);
  b.write('RIFF', 0); b.writeUInt32LE(36 + 2 * n, 4); b.write('WAVE', 8); b.write('fmt ', 12); b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(16000, 24); b.writeUInt32LE(32000, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36); b.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(((i * 37) % 2000) - 1000, 44 + 2 * i);
  return b;
}

let n = 0;
function corpus(rows: { file: string; speaker: string; emotion: string }[], delimiter = ','): string {
  const root = join(work, `c${n++}`, 'corpus');
  for (const r of rows) { mkdirSync(dirname(join(root, r.file)), { recursive: true }); writeFileSync(join(root, r.file), wav()); }
  const q = (v: string) => (/[",;\t\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  writeFileSync(join(root, 'labels.csv'), [['file', 'speaker', 'emotion'].join(delimiter), ...rows.map((r) => [r.file, r.speaker, r.emotion].map(q).join(delimiter))].join('\n') + '\n');
  return root;
}

test('sniffDelimiter: comma, semicolon, tab from the header line (quotes ignored); parsing follows it', () => {
  assert.equal(sniffDelimiter('file,speaker,emotion\na;b,c,d\n'), ',');
  assert.equal(sniffDelimiter('file;speaker;emotion\na,b;c;d\n'), ';');
  assert.equal(sniffDelimiter('file\tspeaker\temotion\n'), '\t');
  assert.equal(sniffDelimiter('"a;b;c",d\n'), ',');
  assert.equal(sniffDelimiter('\ufefffile;speaker\n'), ';');
  assert.deepEqual(parseCsv('a;"b;c";d\n', ';'), [['a', 'b;c', 'd']]);
  assert.deepEqual(csvRecords('file\tspeaker\nx.wav\t1\n', 'f', '\t'), [{ file: 'x.wav', speaker: '1' }]);
  const f = join(work, 'semi.csv');
  writeFileSync(f, 'file;speaker;emotion\nwav/a.wav;1;anger\n');
  assert.deepEqual(readCsvRecords(f), [{ file: 'wav/a.wav', speaker: '1', emotion: 'anger' }]);
});

test('a labels CSV without a file column names the header as parsed', () => {
  const root = join(work, 'nofile');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'labels.csv'), 'name|speaker|emotion\nx.wav|1|anger\n');
  assert.throws(() => resolveCorpus(root), (e: unknown) => e instanceof EmolabError && /no file column/.test(e.message) && /header as parsed with delimiter ",": "name\|speaker\|emotion"/.test(e.message));
});

test('corpusRef: names, aliases, folders and manifest CSVs with unique keys; old spellings; unknown corpora', () => {
  assert.deepEqual(corpusRef('emodb'), { spec: 'emodb', kind: 'named', key: 'emodb' });
  assert.equal(corpusRef('av').spec, 'av-speech-unlabeled');
  assert.equal(corpusRef('av-speech-unlabeled+grid').key, 'av-speech-unlabeled+grid');
  const a = corpus([{ file: 'wav/x.wav', speaker: '1', emotion: 'anger' }]);
  const b = corpus([{ file: 'wav/x.wav', speaker: '1', emotion: 'anger' }]);
  const ra = corpusRef(a), rb = corpusRef(b);
  assert.equal(ra.kind, 'folder');
  assert.match(ra.key, /^corpus-[0-9a-f]{8}$/);
  assert.notEqual(ra.key, rb.key, 'two folders of one name get different keys');
  assert.equal(corpusRef(`folder:${a}`).key, ra.key, 'folder:<dir> is the deprecated spelling of <dir>');
  const csv = join(work, 'm.csv');
  saveManifestCsv(resolveCorpus(a), csv);
  assert.equal(corpusRef(csv).kind, 'manifest');
  assert.deepEqual(resolveCorpus(csv).clips.map((c) => c.id), ['wav/x']);
  assert.throws(() => corpusRef(join(work, 'nothing-here')), /unknown corpus/);
  assert.throws(() => corpusRef('folder'), /needs its path/);
});

test('property: any relative media path is a clip id, intact through the manifest, its CSV and speaker-independent folds', () => {
  const segment = fc.array(fc.constantFrom(...'abcXYZ09 _-.äöüßéñ漢字'), { minLength: 1, maxLength: 8 }).map((cs) => cs.join(''))
    .filter((s) => s.trim() === s && !/^\.+$/.test(s) && !s.startsWith('.'));
  const relPath = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => `${parts.join('/')}.wav`);
  fc.assert(fc.property(fc.uniqueArray(relPath, { minLength: 2, maxLength: 8, selector: (p) => p.toLowerCase() }), fc.integer({ min: 2, max: 4 }), (paths, speakers) => {
    const rows = paths.map((file, i) => ({ file, speaker: `spk ${i % speakers}`, emotion: ['anger', 'sadness'][i % 2] }));
    const root = corpus(rows, [',', ';', '\t'][paths.length % 3]);
    const m = resolveCorpus(root, { labelled: true });
    assert.deepEqual(m.quarantine, []);
    const ids = paths.map((p) => p.replace(/\.wav$/, ''));
    assert.deepEqual(m.clips.map((c) => c.id).sort(), [...ids].sort());
    const file = join(root, '..', 'manifest.csv');
    saveManifestCsv(m, file);
    assert.deepEqual(loadManifestCsv(file).clips.map((c) => c.id), m.clips.map((c) => c.id));
    const used = new Set(m.clips.map((c) => c.speaker));
    if (used.size < 2) return;
    const { folds } = corpusFolds(m.clips);
    assert.deepEqual(folds.flatMap((f) => f.test.map((c) => c.id)).sort(), [...ids].sort(), 'every clip is tested exactly once');
    for (const f of folds) {
      const test = new Set(f.test.map((c) => c.speaker));
      assert.ok([...f.train, ...f.dev].every((c) => !test.has(c.speaker)), 'speaker-independent');
      assert.match(f.name, /^[A-Za-z0-9_.+-]+$/, 'fold names are file-name safe whatever the speaker names');
    }
  }), { numRuns: 25 });
});
