import { join } from 'node:path';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { EmolabError } from '../../lib/errors';
import {
  parseCsv, formatCsv, csvRecords, parseWavHeader, speakerIndependentSplit, assertSpeakerIndependent, seededRandom,
  leaveTwoSpeakersOutFolds, normalizeEmotion, sniffMediaProblem, type Clip,
} from '../../lib/data';
import { SHARED } from './shared';

test('parseCsv: quotes, doubled quotes, embedded newlines, CRLF, empty fields, BOM', () => {
  assert.deepEqual(parseCsv('\ufeffa,"b,""c""",\r\n"x\ny",2\n'), [['a', 'b,"c"', ''], ['x\ny', '2']]);
  assert.deepEqual(parseCsv('a,b'), [['a', 'b']]);
  assert.deepEqual(parseCsv('a,'), [['a', '']]);
  assert.throws(() => parseCsv('"abc'), /unterminated/);
  assert.throws(() => parseCsv('"a"b,c'), /unexpected character/);
});

test('formatCsv/parseCsv round trip (property)', () => {
  const cell = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', 'é') });
  fc.assert(fc.property(fc.array(fc.array(cell, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 6 }), (rows) => {
    const back = parseCsv(formatCsv(rows));
    assert.deepEqual(back, rows);
  }), { numRuns: 300 });
});

test('csvRecords: a ragged row is an error naming the line and file', () => {
  assert.throws(() => csvRecords('a,b\n1,2\n3\n', 'f.csv'), (e: unknown) => e instanceof EmolabError && /line 3 has 1 fields/.test(e.message) && e.file === 'f.csv');
});

function wavBytes(opts: { sr: number; channels: number; bits: number; frames: number; extraChunk?: boolean; dataSize?: number }): Uint8Array {
  const block = (opts.channels * opts.bits) / 8;
  const data = opts.frames * block;
  const extra = opts.extraChunk ? 8 + 5 + 1 : 0; // odd-sized LIST chunk + pad byte
  const buf = Buffer.alloc(44 + extra + data);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + extra + data, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(opts.channels, 22);
  buf.writeUInt32LE(opts.sr, 24); buf.writeUInt32LE(opts.sr * block, 28); buf.writeUInt16LE(block, 32); buf.writeUInt16LE(opts.bits, 34);
  let o = 36;
  if (opts.extraChunk) { buf.write('LIST', o); buf.writeUInt32LE(5, o + 4); o += 14; }
  buf.write('data', o); buf.writeUInt32LE(opts.dataSize ?? data, o + 4);
  return buf;
}

test('parseWavHeader: hand-made headers with known durations', () => {
  const a = parseWavHeader(wavBytes({ sr: 16000, channels: 1, bits: 16, frames: 8000 }));
  assert.deepEqual([a.sampleRate, a.channels, a.bitsPerSample, a.frames, a.durationS, a.dataOffset], [16000, 1, 16, 8000, 0.5, 44]);
  const b = parseWavHeader(wavBytes({ sr: 48000, channels: 2, bits: 24, frames: 4800, extraChunk: true }));
  assert.deepEqual([b.frames, b.durationS, b.dataOffset], [4800, 0.1, 58]);
  const bytes = wavBytes({ sr: 8000, channels: 1, bits: 16, frames: 800, dataSize: 0xffffffff });
  assert.equal(parseWavHeader(bytes, bytes.length).durationS, 0.1, 'streaming header: size from the file length');
  assert.throws(() => parseWavHeader(new TextEncoder().encode('RIFF....AVI LIST')), /not a RIFF\/WAVE/);
  assert.throws(() => parseWavHeader(wavBytes({ sr: 16000, channels: 1, bits: 16, frames: 1 }).slice(0, 36)), /no data chunk|truncated|no fmt/);
});

test('parseWavHeader on a real EmoDB file agrees with Python wave (30,372 frames)', () => {
  const buf = readFileSync(join(SHARED, 'emodb/wav/03a01Fa.wav'));
  const info = parseWavHeader(buf, buf.length);
  assert.deepEqual([info.sampleRate, info.channels, info.bitsPerSample, info.frames], [16000, 1, 16, 30372]);
});

function toyClips(): Clip[] {
  const clips: Clip[] = [];
  for (let s = 0; s < 20; s++) for (let k = 0; k < 3; k++) clips.push({ id: `s${s}-${k}`, corpus: 'toy', speaker: `s${s}`, sex: s % 2 ? 'M' : 'F' });
  return clips;
}

test('speakerIndependentSplit: seeded, speaker-independent, counts and fractions, both sexes held out', () => {
  const clips = toyClips();
  const a = speakerIndependentSplit(clips, { seed: 7, dev: 2, test: 4 });
  const b = speakerIndependentSplit(clips, { seed: 7, dev: 2, test: 4 });
  const c = speakerIndependentSplit(clips, { seed: 8, dev: 2, test: 4 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.test, c.test);
  assertSpeakerIndependent(a, clips);
  assert.deepEqual([a.train.length, a.dev.length, a.test.length], [42, 6, 12]);
  const sexes = (ids: string[]) => new Set(ids.map((id) => clips.find((x) => x.id === id)!.sex));
  assert.equal(sexes(a.test).size, 2); assert.equal(sexes(a.dev).size, 2);
  const f = speakerIndependentSplit(clips, { seed: 1, dev: 0.1, test: 0.2 });
  assert.deepEqual([f.dev.length / 3, f.test.length / 3], [2, 4]);
  assert.throws(() => speakerIndependentSplit(clips, { dev: 10, test: 10 }), EmolabError);
});

test('assertSpeakerIndependent catches a leaked speaker, an unknown id and a repeated id', () => {
  const clips = toyClips();
  assert.throws(() => assertSpeakerIndependent({ name: 'x', train: ['s0-0'], dev: [], test: ['s0-1'] }, clips), /speaker s0 is in both train and test/);
  assert.throws(() => assertSpeakerIndependent({ name: 'x', train: ['nope'], dev: [], test: [] }, clips), /not in the manifest/);
  assert.throws(() => assertSpeakerIndependent({ name: 'x', train: ['s0-0', 's0-0'], dev: [], test: [] }, clips), /appears twice/);
});

test('leaveTwoSpeakersOutFolds needs known sexes; seededRandom is deterministic in [0,1)', () => {
  assert.throws(() => leaveTwoSpeakersOutFolds([{ id: 'a', corpus: 't', speaker: 'x' }], 't'), /sex of every speaker/);
  const r = seededRandom(42), r2 = seededRandom(42);
  for (let i = 0; i < 100; i++) { const v = r(); assert.equal(v, r2()); assert.ok(v >= 0 && v < 1); }
});

test('normalizeEmotion maps corpus words and codes', () => {
  assert.equal(normalizeEmotion('Angry'), 'anger');
  assert.equal(normalizeEmotion('HAP'), 'happiness');
  assert.equal(normalizeEmotion('surprised'), 'surprise');
  assert.equal(normalizeEmotion('elated'), undefined);
});

test('sniffMediaProblem: real MP4 passes; LFS pointers, HTML pages and wrong signatures are named', () => {
  const mp4 = readFileSync(join(SHARED, 'mead-samples', 'dreamtalk', 'M030_front_angry_level3_001.mp4')).subarray(0, 64);
  assert.equal(sniffMediaProblem(mp4, '.mp4'), undefined);
  assert.match(sniffMediaProblem(mp4, '.flv')!, /not an FLV/);
  assert.equal(sniffMediaProblem(Buffer.from('FLV\x01\x05\0\0\0\x09', 'latin1'), '.flv'), undefined);
  assert.match(sniffMediaProblem(Buffer.from('version https://git-lfs.github.com/spec/v1\noid sha256:0'), '.wav')!, /git-lfs pointer/);
  assert.match(sniffMediaProblem(Buffer.from('  <html><body>503</body></html>'), '.mp4')!, /HTML page/);
  assert.match(sniffMediaProblem(Buffer.from('RIFF\0\0\0\0WAVEfmt '), '.mp4')!, /not an MP4/);
  assert.equal(sniffMediaProblem(Buffer.from('anything'), '.ogg'), undefined);
});
