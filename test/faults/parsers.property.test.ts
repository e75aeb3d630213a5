/**
 * Property-based tests (fast-check) of the input parsers with random and hostile input: the only
 * failure allowed is a typed EmolabError. Covered: CSV text and folder-corpus label tables,
 * safetensors files (a header that claims bytes beyond the file is refused before any allocation),
 * JSON files the pipeline reads back (HuBERT config.json, feature-store index.json, label-set summaries,
 * run manifests) and command-line flags. (Corpus file-name parsers: test/data/parsers.property.test.ts.)
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { csvRecords, formatCsv } from '../../lib/data/csv';
import { folderManifest } from '../../lib/data/folder';
import { EmolabError } from '../../lib/errors';
import { loadHubertConfig, parseHubertConfig, hubertTinyConfig, hubertConfigJson } from '../../lib/models/hubertConfig';
import { openFeatureStore } from '../../lib/store/featureStore';
import { parseHeader, readSafetensors, encodeSafetensors } from '../../lib/store/safetensors';
import { readLabelSet } from '../../lib/pseudo/labelsets';
import { verifyRun, safeRelative } from '../../lib/verify/hashes';
import { parseArgs } from '../../lib/args';

const dir = mkdtempSync(join(tmpdir(), 'emolab faults property é '));
after(() => rmSync(dir, { recursive: true, force: true }));

/** f() either returns or throws an EmolabError; anything else fails the property. */
function onlyTyped(what: string, f: () => unknown): void {
  try { f(); } catch (e) { if (!(e instanceof EmolabError)) throw new Error(`${what} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`); }
}

test('CSV: any text parses or is an EmolabError; parsed records always have the header\'s fields', () => {
  fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', 'é', '\uFEFF'), maxLength: 60 }), (text) => {
    onlyTyped('csvRecords', () => {
      const recs = csvRecords(text, 'x.csv');
      const keys = recs.length ? Object.keys(recs[0]) : [];
      for (const r of recs) assert.deepEqual(Object.keys(r), keys);
    });
  }), { numRuns: 1000 });
});

test('folder corpus: any labels table gives clips + quarantined rows = data rows, or an EmolabError', () => {
  const root = join(dir, 'folder');
  mkdirSync(join(root, 'wav'), { recursive: true });
  writeFileSync(join(root, 'wav', 'a.wav'), Buffer.from('RIFF$\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x80\x3e\0\0\0\x7d\0\0\x02\0\x10\0data\0\0\0\0', 'latin1'));
  const cell = fc.oneof(fc.constantFrom('wav/a.wav', ' wav/a.wav ', 'wav/none.wav', '../../etc/passwd', 'a.txt', '', 'happy', 'XYZ', 'spk 1', ' Sad '), fc.string({ maxLength: 6 }));
  const headers = fc.shuffledSubarray(['file', 'speaker', 'emotion', 'duration_s', 'sex', ' File ', 'extra'], { minLength: 1 });
  fc.assert(fc.property(headers, fc.array(fc.array(cell, { minLength: 7, maxLength: 7 }), { maxLength: 6 }), fc.boolean(), (header, rows, unlabeled) => {
    writeFileSync(join(root, 'labels.csv'), formatCsv([header, ...rows.map((r) => r.slice(0, header.length))]));
    onlyTyped('folderManifest', () => {
      const m = folderManifest(root, { allowUnlabeled: unlabeled });
      const dataRows = rows.filter((r) => !(header.length === 1 && r[0] === '')).length;
      assert.equal(m.clips.length + m.quarantine.length, dataRows);
    });
  }), { numRuns: 150 });
});

test('safetensors: random headers are parsed or refused; accepted entries lie inside the data', () => {
  const entry = fc.record({
    dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'I64', 'U8', 'BOOL'), fc.string({ maxLength: 4 })),
    shape: fc.array(fc.oneof(fc.nat(8), fc.integer(), fc.double()), { maxLength: 3 }),
    data_offsets: fc.array(fc.oneof(fc.nat(64), fc.integer(), fc.constant(2 ** 53)), { minLength: 0, maxLength: 3 }),
  }, { requiredKeys: [] });
  const header = fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(entry, fc.jsonValue()), { maxKeys: 4 });
  fc.assert(fc.property(fc.oneof(header.map((h) => JSON.stringify(h)), fc.string({ maxLength: 30 })), fc.nat(64), (json, dataLength) => {
    onlyTyped('parseHeader', () => {
      const { entries } = parseHeader(json, dataLength, 'h.safetensors');
      for (const e of Object.values(entries)) assert.ok(e.data_offsets[0] <= e.data_offsets[1] && e.data_offsets[1] <= dataLength);
    });
  }), { numRuns: 2000 });
});

test('safetensors: random bytes and corrupted real files are refused with an EmolabError naming the file', () => {
  const file = join(dir, 'x.safetensors');
  const good = Buffer.concat(encodeSafetensors({ a: { data: Float32Array.of(1, 2, 3), shape: [3] }, b: { data: Int32Array.of(7), shape: [1] } }, { k: 'v' }));
  fc.assert(fc.property(fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.tuple(fc.nat(good.length - 1), fc.nat(255)).map(([i, v]) => { const b = Buffer.from(good); b[i] = v; return b; }),
    fc.nat(good.length).map((n) => good.subarray(0, n)),
  ), (bytes) => {
    writeFileSync(file, bytes);
    try { readSafetensors(file); } catch (e) {
      assert.ok(e instanceof EmolabError, `threw ${String(e)}`);
      assert.equal(e.file, file);
    }
  }), { numRuns: 500 });
});

test('safetensors: a header claiming bytes beyond the file is refused before the data is read or allocated', () => {
  const file = join(dir, 'liar.safetensors');
  const realReadFileSync = fs.readFileSync;
  let dataReads = 0;
  fs.readFileSync = ((...a: Parameters<typeof fs.readFileSync>) => { if (String(a[0]) === file) dataReads++; return realReadFileSync(...a); }) as typeof fs.readFileSync;
  syncBuiltinESMExports();
  try {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 2n ** 62n }), fc.nat(16), fc.boolean(), (claim, have, lieInHeaderLength) => {
      const json = lieInHeaderLength ? '{}' : JSON.stringify({ x: { dtype: 'U8', shape: [Number(claim % 2n ** 40n) + have + 1], data_offsets: [0, Number(claim % 2n ** 40n) + have + 1] } });
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(lieInHeaderLength ? BigInt(json.length + have) + claim : BigInt(json.length));
      writeFileSync(file, Buffer.concat([len, Buffer.from(json), Buffer.alloc(have)]));
      assert.throws(() => readSafetensors(file), (e: unknown) => e instanceof EmolabError && /exceeds the file|claims bytes/.test(e.message));
    }), { numRuns: 300 });
    assert.equal(dataReads, 0, 'the file body was never read');
  } finally {
    fs.readFileSync = realReadFileSync;
    syncBuiltinESMExports();
  }
});

test('JSON the pipeline reads back (config.json, index.json, label summary, run.json): any JSON value is accepted or an EmolabError', () => {
  const model = join(dir, 'model'), store = join(dir, 'store', 'audio'), labels = join(dir, 'labels'), run = join(dir, 'run');
  for (const d of [model, store, join(labels, 'pseudo'), run]) mkdirSync(d, { recursive: true });
  const tiny = hubertConfigJson(hubertTinyConfig()) as Record<string, unknown>;
  const mutatedConfig = fc.tuple(fc.constantFrom(...Object.keys(tiny)), fc.jsonValue()).map(([k, v]) => ({ ...tiny, [k]: v }));
  fc.assert(fc.property(fc.oneof(fc.jsonValue(), mutatedConfig, fc.string({ maxLength: 10 }).map((s) => ({ raw: s }))), (value) => {
    const text = typeof value === 'object' && value !== null && 'raw' in value && Object.keys(value).length === 1 ? String((value as { raw: string }).raw) : JSON.stringify(value);
    writeFileSync(join(model, 'config.json'), text);
    writeFileSync(join(store, 'index.json'), text);
    writeFileSync(join(labels, 'pseudo', 'energy.json'), text);
    writeFileSync(join(run, 'run.json'), text);
    onlyTyped('loadHubertConfig', () => {
      const c = loadHubertConfig(model);
      for (const k of ['hiddenSize', 'numHiddenLayers', 'numAttentionHeads', 'intermediateSize', 'numConvPosEmbeddings', 'numConvPosEmbeddingGroups'] as const) {
        assert.ok(Number.isInteger(c[k]) && c[k] > 0, `accepted config has ${k} = ${c[k]}`);
      }
    });
    onlyTyped('openFeatureStore', () => openFeatureStore(join(dir, 'store')));
    onlyTyped('readLabelSet', () => readLabelSet(labels, 'energy'));
    onlyTyped('verifyRun', () => verifyRun(run));
  }), { numRuns: 400 });
  assert.equal(parseHubertConfig(tiny).hiddenSize, hubertTinyConfig().hiddenSize, 'the unmutated config is accepted');
});

test('run-relative output paths never escape the run folder; command-line flags fail only with EmolabError', () => {
  fc.assert(fc.property(fc.array(fc.constantFrom('..', '.', 'a', 'b c', '/', 'é'), { maxLength: 6 }).map((p) => p.join('/')), (rel) => {
    if (safeRelative(rel)) assert.ok(!join('/run', rel).startsWith('/run/..') && join('/run', rel).startsWith('/run'), rel);
  }), { numRuns: 500 });
  fc.assert(fc.property(fc.array(fc.oneof(fc.constantFrom('--out', '--seed', '--json', '--', '-h', '--out=x', '--json=1', '--nope'), fc.string({ maxLength: 5 })), { maxLength: 6 }), (argv) => {
    onlyTyped('parseArgs', () => parseArgs('test', argv, { values: ['out', 'seed'], booleans: ['json'] }));
  }), { numRuns: 500 });
});
