/**
 * run.json of a pretraining run (lib/train/pretrainRun): the reader takes runs of this schema and older
 * runs without the field, refuses a newer schema or a garbled file with an error that names the file,
 * and reports a folder without run.json as not finished.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmolabError } from '../../lib/errors';
import { isPretrainRun, PRETRAIN_RUN_SCHEMA, readPretrainRun } from '../../lib/train/pretrainRun';

const withDir = (f: (dir: string) => void): void => {
  const dir = mkdtempSync(join(tmpdir(), 'emolab-runjson-'));
  try { f(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
};

test('readPretrainRun: this schema and older runs without schemaVersion are read; no run.json is undefined', () => withDir((dir) => {
  assert.equal(readPretrainRun(dir), undefined);
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ command: 'pretrain', task: 'energy' }));
  const old = readPretrainRun(dir);
  assert.ok(old && isPretrainRun(old));
  assert.equal(old.schemaVersion, undefined);
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ command: 'pretrain', schemaVersion: PRETRAIN_RUN_SCHEMA, task: 'energy' }));
  assert.equal(readPretrainRun(dir)?.schemaVersion, PRETRAIN_RUN_SCHEMA);
}));

test('readPretrainRun: a newer or malformed schemaVersion, or a file that is not JSON, is an EmolabError naming the file', () => withDir((dir) => {
  const file = join(dir, 'run.json');
  for (const v of [PRETRAIN_RUN_SCHEMA + 1, 0, 1.5, '1']) {
    writeFileSync(file, JSON.stringify({ command: 'pretrain', schemaVersion: v, task: 'energy' }));
    assert.throws(() => readPretrainRun(dir), (e: unknown) => e instanceof EmolabError && e.file === file && /schemaVersion/.test(e.message), `schemaVersion ${JSON.stringify(v)}`);
  }
  writeFileSync(file, '{"command": "pretrain", ');
  assert.throws(() => readPretrainRun(dir), (e: unknown) => e instanceof EmolabError && e.file === file && /cannot read/.test(e.message));
}));
