import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { exportReference } from '../../lib/report/reference';
import { buildSerReports } from '../../lib/report/ser';
import { FOLD_RESULT_SCHEMA, writeFoldResult, type FoldResult } from '../../lib/finetune/results';
import { classificationMetrics } from '../../lib/eval/metrics';
import { EmolabError } from '../../lib/errors';

const tmp = mkdtempSync(join(tmpdir(), 'emolab-ref-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
// a name that cannot exist among the repository's results/ tables
const exp = `unit-test-export-${randomBytes(4).toString('hex')}`;
const classes = ['anger', 'neutral', 'sadness'];

function record(arm: string, seed: number, fold: string, correct: number, init: FoldResult['init'], root: string): FoldResult {
  const truth = Array.from({ length: 12 }, (_, i) => i % 3);
  const pred = truth.map((t, i) => (i % 4 < correct ? t : (t + 1) % 3));
  const ids = truth.map((_, i) => `${fold}${i < 6 ? 'a' : 'b'}-u${i}`);
  return {
    schema: FOLD_RESULT_SCHEMA, experiment: exp, protocol: 'emodb', arm, mode: 'full', seed, fold, classes, init,
    test: { ids, truth, pred, probs: [] }, metrics: classificationMetrics(truth, pred, 3), history: [], bestEpoch: 1,
    config: { preset: 'tiny', epochs: 1, features: join(root, 'features', 'emodb') },
    speakers: { train: [], dev: [], test: [`${fold}a`, `${fold}b`] }, clips: { train: 0, dev: 0, test: 12 }, wallSeconds: 1,
    runInfo: { profile: 'ci', cwd: root }, createdAt: 'now',
  };
}

function makeRuns(): { root: string; files: string[] } {
  const root = mkdtempSync(join(tmp, 'runs-'));
  const pre = { kind: 'pretrained' as const, run: 'pretrain-x', checkpoint: join(root, 'pretrain-x', 'encoder.safetensors'), task: 'energy' };
  for (const fold of ['f1', 'f2']) {
    writeFoldResult(record('baseline', 1, fold, 2, { kind: 'scratch' }, root), root);
    writeFoldResult(record('energy', 1, fold, 3, pre, root), root);
  }
  const expDir = join(root, 'ser', exp);
  writeFileSync(join(expDir, 'pretraining.json'), JSON.stringify({ energy: { f1: join(root, 'pretrain-x') } }));
  writeFileSync(join(expDir, 'failures.json'), JSON.stringify([{ arm: 'au', mode: 'full', seed: 1, fold: 'f1', message: `no AU labels in ${root}/pseudo` }]));
  mkdirSync(join(root, 'pretrain-x'), { recursive: true });
  writeFileSync(join(root, 'pretrain-x', 'run.json'), JSON.stringify({ out: join(root, 'pretrain-x'), features: join(root, 'features') }));
  // not copied: a checkpoint and a temp file
  writeFileSync(join(root, 'pretrain-x', 'encoder.safetensors'), 'weights');
  writeFileSync(join(expDir, 'full', 'baseline', 'seed-1', 'f3.json.tmp'), '{}');
  // a pretraining run no record refers to
  mkdirSync(join(root, 'pretrain-unused'), { recursive: true });
  writeFileSync(join(root, 'pretrain-unused', 'run.json'), '{}');
  const files = [
    'full/baseline/seed-1/f1.json', 'full/baseline/seed-1/f2.json', 'full/energy/seed-1/f1.json', 'full/energy/seed-1/f2.json', 'pretraining.json', 'failures.json',
  ];
  return { root, files };
}

test('exportReference copies every record under dest/ser/<exp>/ with its relative path, the pretraining run.json, and replaces the root by $EMOLAB_RUNS', () => {
  const { root, files } = makeRuns();
  const dest = join(tmp, 'dest1');
  const written = exportReference(exp, root, dest);
  const ser = join(dest, 'ser', exp);
  for (const f of files) {
    assert.ok(existsSync(join(ser, f)), `${f} exported`);
    assert.ok(written.includes(join(ser, f)), `${f} listed`);
    const src = readFileSync(join(root, 'ser', exp, f), 'utf8');
    assert.equal(readFileSync(join(ser, f), 'utf8'), src.split(root).join('$EMOLAB_RUNS'));
  }
  assert.ok(!existsSync(join(ser, 'full', 'baseline', 'seed-1', 'f3.json.tmp')), 'temp files not exported');
  const runJson = join(dest, 'pretrain-x', 'run.json');
  assert.ok(written.includes(runJson));
  assert.deepEqual(JSON.parse(readFileSync(runJson, 'utf8')), { out: '$EMOLAB_RUNS/pretrain-x', features: '$EMOLAB_RUNS/features' });
  assert.ok(!existsSync(join(dest, 'pretrain-unused')), 'only runs that records started from');
  assert.ok(!existsSync(join(dest, 'pretrain-x', 'encoder.safetensors')), 'no checkpoints');
  const serWritten = written.filter((w) => w.startsWith(ser + '/')).map((w) => relative(ser, w)).sort();
  assert.deepEqual(serWritten, [...files].sort());
  for (const w of written) assert.ok(!readFileSync(w, 'utf8').includes(root), `${w} still names the machine path`);
  const rec = JSON.parse(readFileSync(join(ser, 'full', 'energy', 'seed-1', 'f1.json'), 'utf8')) as FoldResult;
  assert.deepEqual(rec.init, { kind: 'pretrained', run: 'pretrain-x', checkpoint: '$EMOLAB_RUNS/pretrain-x/encoder.safetensors', task: 'energy' });
  assert.equal((rec.runInfo as { cwd: string }).cwd, '$EMOLAB_RUNS');
  assert.match(readFileSync(join(ser, 'failures.json'), 'utf8'), /no AU labels in \$EMOLAB_RUNS\/pseudo/);
});

test('a second export replaces the first: a stale file of the earlier export disappears', () => {
  const { root } = makeRuns();
  const dest = join(tmp, 'dest2');
  exportReference(exp, root, dest);
  const stale = join(dest, 'ser', exp, 'full', 'au', 'seed-1', 'f1.json');
  mkdirSync(dirname(stale), { recursive: true });
  writeFileSync(stale, '{}');
  rmSync(join(root, 'ser', exp, 'full', 'energy', 'seed-1', 'f2.json'));
  const again = exportReference(exp, root, dest);
  assert.ok(!existsSync(stale), 'stale record removed');
  assert.ok(!existsSync(join(dest, 'ser', exp, 'full', 'energy', 'seed-1', 'f2.json')), 'a record gone from the runs folder is gone from the export');
  assert.ok(existsSync(join(dest, 'ser', exp, 'full', 'energy', 'seed-1', 'f1.json')));
  assert.ok(again.includes(join(dest, 'pretrain-x', 'run.json')));
});

test('a second export replaces only this experiment\'s SER tables: HFLEA tables from an earlier export stay', () => {
  const { root } = makeRuns();
  const dest = join(tmp, 'dest4');
  mkdirSync(join(dest, 'tables'), { recursive: true });
  writeFileSync(join(dest, 'tables', 'hflea_emodb.md'), '# HFLEA');
  writeFileSync(join(dest, 'tables', `ser_${exp}_full.md`), 'stale');
  exportReference(exp, root, dest);
  assert.equal(readFileSync(join(dest, 'tables', 'hflea_emodb.md'), 'utf8'), '# HFLEA', 'another notebook\'s table is kept');
  assert.ok(!existsSync(join(dest, 'tables', `ser_${exp}_full.md`)), 'a stale SER table of this experiment is removed');
});

test('a missing experiment is an EmolabError naming the folder', () => {
  const { root } = makeRuns();
  const missing = `${exp}-absent`;
  assert.throws(() => exportReference(missing, root, join(tmp, 'dest3')), (e: unknown) =>
    e instanceof EmolabError && e.file === join(root, 'ser', missing) && e.message.includes(join(root, 'ser', missing)) && e.message.includes(`"${missing}"`));
  assert.ok(!existsSync(join(tmp, 'dest3', 'ser')), 'nothing written');
});

test('buildSerReports reads the exported records back: same models, same numbers', () => {
  const { root } = makeRuns();
  const dest = join(tmp, 'dest4');
  exportReference(exp, root, dest);
  const opts = { experiment: exp, write: false, figures: false, bootstrap: 50, permutations: 50, seed: 1 };
  const [fromRuns] = buildSerReports({ ...opts, root });
  const reps = buildSerReports({ ...opts, root: dest });
  assert.equal(reps.length, 1);
  const [fromRef] = reps;
  assert.deepEqual(fromRef.rows.map((r) => [r.arm, r.runs, r.seeds, r.folds, r.speakers]), [['baseline', 2, 1, 2, 4], ['energy', 2, 1, 2, 4]]);
  assert.deepEqual(fromRef.rows.map((r) => [r.arm, r.runs]), fromRuns.rows.map((r) => [r.arm, r.runs]));
  assert.deepEqual(fromRef.rows.map((r) => r.pooled), fromRuns.rows.map((r) => r.pooled));
  assert.ok(Math.abs(fromRef.rows[0].pooled.wa - 0.5) < 1e-12 && Math.abs(fromRef.rows[1].pooled.wa - 0.75) < 1e-12);
});
