import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturesRoot } from '../../lib/paths';
import { encodeSafetensors, parseHeader, readSafetensors, writeSafetensors } from '../../lib/store/safetensors';

const dir = mkdtempSync(join(tmpdir(), 'emolab-st-'));

test('round trip keeps dtype, shape, values and metadata; output is byte-identical', () => {
  const f = join(dir, 'a.safetensors');
  const t = { b: { data: new Int32Array([1, -2, 3]), shape: [3] }, a: { data: new Float32Array([0.5, 1.5, -2, 4]), shape: [2, 2] } };
  writeSafetensors(f, t, { stage: 'test' });
  const first = readFileSync(f);
  writeSafetensors(f, t, { stage: 'test' });
  assert.deepEqual(readFileSync(f), first);
  const { tensors, metadata } = readSafetensors(f);
  assert.deepEqual(metadata, { stage: 'test' });
  assert.deepEqual(tensors.a.shape, [2, 2]);
  assert.equal(tensors.a.dtype, 'F32');
  assert.deepEqual(Array.from(tensors.a.data as Float32Array), [0.5, 1.5, -2, 4]);
  assert.deepEqual(Array.from(tensors.b.data as Int32Array), [1, -2, 3]);
  assert.equal(first.readBigUInt64LE(0) % 8n, 0n);
});

test('reads the real fbank fixture written by Python safetensors', () => {
  const fx = join(fixturesRoot(), 'fbank', 'features.safetensors');
  const { tensors } = readSafetensors(fx);
  assert.equal(tensors.kaldi_fbank80.shape[1], 80);
  assert.equal(tensors.kaldi_mfcc13.shape[1], 13);
});

test('hostile headers are refused before allocation', () => {
  assert.throws(() => parseHeader('{"x":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}', 16), /claims bytes/);
  assert.throws(() => parseHeader('{"x":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}', 4), /unknown dtype/);
  assert.throws(() => parseHeader('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', 8), /does not match/);
  assert.throws(() => parseHeader('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}', 8), /overlap/);
  assert.throws(() => parseHeader('[1,2]', 8), /not a JSON object/);
  assert.throws(() => parseHeader('{', 8), /not JSON/);
  const f = join(dir, 'bad.safetensors');
  const len = Buffer.alloc(8); len.writeBigUInt64LE(1n << 40n);
  writeFileSync(f, Buffer.concat([len, Buffer.from('{}')]));
  assert.throws(() => readSafetensors(f), /header length .* exceeds/);
  assert.throws(() => encodeSafetensors({ x: { data: new Float32Array(3), shape: [2, 2] } }), /holds 4 values but data has 3/);
});
