/**
 * Interruption, reproducibility and `emolab verify`, for real: child processes are SIGKILLed at the
 * most hostile moment — inside an atomic write, with the temp file complete but not yet renamed
 * (./faultHook pauses there and the parent kills) — during pretraining and pseudo-labelling; the same
 * command is then run again and its outputs are compared byte for byte with an uninterrupted run.
 * (SIGKILL during feature extraction is covered by test/store/featureStore.test.ts.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backendReport } from '../../lib/backend';
import { pretrain, disposePretrain } from '../../lib/train/pretrain';
import { run as pseudoCli } from '../../lib/pseudo/cli';
import { readLabelSet } from '../../lib/pseudo/labelsets';
import { verifyRun } from '../../lib/verify/hashes';
import { run as verifyCli } from '../../lib/verify/cli';
import { hostileTmp, removeTmp, runChild, treeHashes, writeSyntheticCorpus } from './shared';
import { faultPretrainSettings } from './pretrainSettings';

let dir = '';
let corpus = '';
before(() => {
  process.env.EMOLAB_PROFILE = 'ci';
  dir = hostileTmp('interrupt');
  corpus = join(dir, 'corpus');
  writeSyntheticCorpus(corpus, 5, 4, 1.5);
});
after(() => removeTmp(dir));

/** What pretrain writes that must not depend on the run: metrics without wall-clock times. */
function stableMetrics(runDir: string): unknown {
  const m = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as { metrics: { perEpoch: Record<string, unknown>[]; resumedFromStep?: number } & Record<string, unknown> };
  const { resumedFromStep: _r, ...rest } = m.metrics;
  return { ...rest, perEpoch: m.metrics.perEpoch.map(({ wallS: _w, ...e }) => e) };
}
/** Run a CLI function with its console output muted. */
async function quiet<T>(f: () => Promise<T>): Promise<T> {
  const log = console.log, err = console.error;
  console.log = () => {}; console.error = () => {};
  try { return await f(); } finally { console.log = log; console.error = err; }
}
const CHECKPOINTS = ['model.safetensors', 'checkpoints/last.safetensors', 'checkpoints/best.safetensors'];
const outputsOf = (runDir: string): unknown => (JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as { outputs: unknown }).outputs;
const bytesOf = (f: string): Buffer => readFileSync(f);
const RUNTIME = { resume: true, quiet: true };

test('pretraining: same seed + backend -> identical metrics and checkpoint hashes; another seed differs; verify passes, then catches corruption', async () => {
  const a = await pretrain(faultPretrainSettings(corpus, join(dir, 'seed1-a'), 1), RUNTIME);
  disposePretrain(a);
  const b = await pretrain(faultPretrainSettings(corpus, join(dir, 'seed1-b'), 1), RUNTIME);
  disposePretrain(b);
  const c = await pretrain(faultPretrainSettings(corpus, join(dir, 'seed2'), 2), RUNTIME);
  disposePretrain(c);
  for (const f of CHECKPOINTS) assert.ok(bytesOf(join(a.runDir, f)).equals(bytesOf(join(b.runDir, f))), `${f}: same seed, same bytes`);
  assert.deepEqual(outputsOf(a.runDir), outputsOf(b.runDir), 'the hashes recorded in run.json agree');
  assert.deepEqual(stableMetrics(a.runDir), stableMetrics(b.runDir));
  assert.ok(!bytesOf(join(a.runDir, 'model.safetensors')).equals(bytesOf(join(c.runDir, 'model.safetensors'))), 'another seed gives another model');
  const manifest = JSON.parse(readFileSync(a.manifestFile, 'utf8')) as Record<string, unknown>;
  for (const key of ['seed', 'config', 'split', 'backend', 'run', 'dataset', 'outputs']) assert.ok(key in manifest, `run.json records ${key}`);

  const ok = verifyRun(a.runDir);
  assert.ok(ok.ok);
  assert.deepEqual(ok.checks.map((x) => x.file).sort(), ['checkpoints/best.safetensors', 'checkpoints/last.safetensors', 'model.safetensors']);
  assert.equal(await verifyCli([a.runDir]), 0);
  // one flipped byte in the model, a missing checkpoint: verify names both and exits 1
  const model = join(b.runDir, 'model.safetensors');
  const bytes = bytesOf(model);
  bytes[bytes.length - 3] ^= 0x01;
  writeFileSync(model, bytes);
  rmSync(join(b.runDir, 'checkpoints', 'best.safetensors'));
  const bad = verifyRun(b.runDir);
  assert.equal(bad.ok, false);
  assert.deepEqual(Object.fromEntries(bad.checks.map((x) => [x.file, x.status])), { 'model.safetensors': 'changed', 'checkpoints/last.safetensors': 'ok', 'checkpoints/best.safetensors': 'missing' });
  assert.equal(await verifyCli([b.runDir]), 1);
  writeFileSync(join(c.runDir, 'run.json'), '{"command":"pretrain"}');
  assert.throws(() => verifyRun(c.runDir), /records no output hashes/);
  assert.throws(() => verifyRun(join(dir, 'nowhere')), /no run manifest here/);
});

test('pretraining SIGKILLed inside a checkpoint write resumes from the last checkpoint and ends byte-identical', async () => {
  const env = { EMOLAB_BACKEND: backendReport()?.name ?? 'wasm' };
  const refDir = join(dir, 'seed1-a');
  assert.ok(existsSync(join(refDir, 'run.json')), 'the reference run of the previous test');
  const runDir = join(dir, 'killed run');
  const killed = await runChild(['pretrain', corpus, runDir, '1'], { pauseAt: 'checkpoints/last.safetensors', nth: 2, env });
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  assert.ok(killed.paused?.endsWith('last.safetensors'));
  assert.ok(!existsSync(join(runDir, 'run.json')) && !existsSync(join(runDir, 'model.safetensors')), 'nothing final before the end');
  assert.ok(readdirSync(join(runDir, 'checkpoints')).some((f) => f.endsWith('.tmp')), 'the killed write left only a temp file');
  // the same call again (in this process, to save a start-up): it resumes from epoch 1's checkpoint
  const resumed = await pretrain(faultPretrainSettings(corpus, runDir, 1), RUNTIME);
  disposePretrain(resumed);
  assert.ok(resumed.training.resumedFromStep > 0 && resumed.training.resumedFromStep < resumed.training.steps, `resumed midway: from step ${resumed.training.resumedFromStep} of ${resumed.training.steps}`);
  for (const f of CHECKPOINTS) assert.ok(bytesOf(join(runDir, f)).equals(bytesOf(join(refDir, f))), `${f} equals the uninterrupted run`);
  assert.deepEqual(outputsOf(runDir), outputsOf(refDir));
  assert.deepEqual(readdirSync(join(runDir, 'checkpoints')).filter((f) => f.endsWith('.tmp')), [], 'the killed write\'s temp file was removed');
  assert.deepEqual(stableMetrics(runDir), stableMetrics(refDir));
  assert.ok(verifyRun(runDir).ok);
});

test('pseudo-labelling SIGKILLed inside its writes: no half-written or mismatched label set is ever read; rerun gives identical bytes', async () => {
  const ref = join(dir, 'labels ref');
  assert.equal(await quiet(() => pseudoCli(['energy', '--corpus', `folder:${corpus}`, '--out', ref])), 0);
  const refHashes = treeHashes(join(ref, 'pseudo'), /\.json$/);

  // killed with the tensors written to a temp file, before the rename: no label set at all
  const out = join(dir, 'labels killed');
  const k1 = await runChild(['pseudo', corpus, out], { pauseAt: 'energy.safetensors' });
  assert.equal(k1.signal, 'SIGKILL', k1.stderr);
  assert.throws(() => readLabelSet(out, 'energy'), /no energy label set here/);
  assert.equal(await quiet(() => pseudoCli(['energy', '--corpus', `folder:${corpus}`, '--out', out])), 0);
  assert.deepEqual(treeHashes(join(out, 'pseudo'), /\.(json|tmp)$/), refHashes, 'rerun: byte-identical label tensors');
  assert.equal(readLabelSet(out, 'energy').summary.clips, 20);

  // killed between the tensors and the summary, over a label set made with other settings:
  // the new tensors sit beside the old summary, and reading them must be refused, not mixed
  const k2 = await runChild(['pseudo', corpus, out, '--length', '50', '--hop', '25'], { pauseAt: 'energy.safetensors', when: 'after' });
  assert.equal(k2.signal, 'SIGKILL', k2.stderr);
  assert.throws(() => readLabelSet(out, 'energy'), /does not match its summary/);
  assert.equal(await quiet(() => pseudoCli(['energy', '--corpus', `folder:${corpus}`, '--out', out])), 0);
  assert.deepEqual(treeHashes(join(out, 'pseudo'), /\.(json|tmp)$/), refHashes);
  assert.equal(readLabelSet(out, 'energy').summary.clips, 20);
});
