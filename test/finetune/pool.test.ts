/**
 * lib/finetune/pool: every model trains in its own worker process, and a failure stays with its job.
 * On real EmoDB audio (a few clips per speaker in a small fbank store): a job whose worker process is
 * killed (SIGKILL from a preloaded hook, as the OOM killer would) and a job whose feature store does
 * not exist both fail with the reason, jobs that depend on them fail as "not run: <id> failed", and
 * the independent fine-tuning jobs of two folds still train and write their records. Then the same
 * through runSerExperiment: a pretraining run that fails takes down only its arm's models, which are
 * returned in `result.failures` and written to failures.json.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initBackend } from '../../lib/backend';
import { encoderConfig } from '../../lib/models/encoder';
import { repoRoot } from '../../lib/paths';
import { runJobPool, type PoolJob, type PoolOutcome } from '../../lib/finetune/pool';
import type { FinetuneJob } from '../../lib/finetune/jobWorker';
import type { FinetuneHyper } from '../../lib/finetune/finetuneFold';
import { readFoldResult } from '../../lib/finetune/results';
import { runSerExperiment } from '../../lib/finetune/experiment';
import { FAILURES_FILE, readFailures } from '../../lib/finetune/failures';
import { goncalves2022Settings, pretrainSettingsFor, serExperimentSettings } from '../../lib/experiments/goncalves2022';
import type { Clip } from '../../lib/data/types';
import { jobFold, smallEmodbStore } from './shared';

process.env.EMOLAB_DATA ??= resolve(repoRoot, '../shared/datasets');

const root = mkdtempSync(join(tmpdir(), 'emolab-pool-'));
const store = join(root, 'features', 'emodb');
let clips: Clip[] = [];
before(async () => {
  await initBackend(process.env.EMOLAB_BACKEND === 'cpu' ? 'cpu' : 'wasm');
  clips = await smallEmodbStore(store, 3);
});
after(() => rmSync(root, { recursive: true, force: true }));

const hyper: FinetuneHyper = { epochs: 1, batchSize: 8, maxFrames: 16000, lr: 1e-3, weightDecay: 0.01, patience: 0, warmup: 0.1, classBalanced: false, monitor: 'ua' };

function finetuneJob(fold: number, over: Partial<FinetuneJob> = {}): FinetuneJob {
  const f = jobFold(fold, clips);
  return {
    experiment: 'pool-test', protocol: 'emodb', arm: 'baseline', init: { kind: 'scratch' }, mode: 'full', seed: 1,
    fold: { name: f.name, train: f.train, dev: f.dev, test: f.test }, classes: f.classes, encoder: encoderConfig('tiny'), hyper,
    normalization: 'training-set', featureStore: store, configNote: {}, runInfo: {}, root, ...over,
  };
}
const job = (id: string, request: FinetuneJob, cost: number, afterIds: string[] = []): PoolJob => ({ id, after: afterIds, request: { kind: 'finetune', job: request }, cost });

test('a killed worker and a failing job fail alone; their dependants are not run; the other jobs train', async () => {
  const t0 = Date.now();
  const jobs: PoolJob[] = [
    // costs set the order on one worker: the crash first, then its dependant, the missing store, ...
    job('crash', finetuneJob(0), 6),
    job('after-crash', finetuneJob(0, { seed: 2 }), 5, ['crash']),
    job('no-store', finetuneJob(0, { featureStore: join(root, 'no such store') }), 4),
    job('after-no-store', finetuneJob(1, { seed: 3 }), 3, ['no-store']),
    job('fold1', finetuneJob(0), 2),
    job('fold2', finetuneJob(1), 1),
  ];
  const seen: string[] = [];
  const outcomes = await runJobPool(jobs, {
    workers: 1, quiet: true, label: 'pool test', onOutcome: (j: PoolJob, o: PoolOutcome) => { seen.push(`${j.id}:${o.ok}`); },
    env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(join(import.meta.dirname, 'crashHook.mjs')).href}`.trim(), EMOLAB_TEST_CRASH_JOB: 'crash' },
  });
  const by = Object.fromEntries(outcomes.map((o) => [o.id, o]));
  assert.deepEqual(outcomes.map((o) => o.id), jobs.map((j) => j.id), 'outcomes in job order');
  assert.deepEqual(seen, ['crash:false', 'after-crash:false', 'no-store:false', 'after-no-store:false', 'fold1:true', 'fold2:true']);
  assert.equal(by.crash.ok, false);
  assert.match(by.crash.message!, /^worker process died \(signal SIGKILL\)/);
  assert.match(by['after-crash'].message!, /^not run: crash failed \(worker process died/);
  assert.equal(by['after-crash'].seconds, 0);
  assert.equal(by['no-store'].ok, false);
  assert.match(by['no-store'].message!, /no feature store at .*no such store/);
  assert.match(by['after-no-store'].message!, /^not run: no-store failed \(.*no feature store/);
  for (const [id, fold] of [['fold1', 0], ['fold2', 1]] as const) {
    const o = by[id];
    assert.ok(o.ok, `${id}: ${o.message}`);
    assert.equal(o.reply?.kind, 'finetune');
    if (o.reply?.kind !== 'finetune') continue;
    assert.ok(existsSync(o.reply.file), `${id} wrote its record`);
    const r = readFoldResult(o.reply.file);
    assert.equal(r.fold, jobFold(fold, clips).name);
    assert.equal(r.test.ids.length, jobFold(fold, clips).test.length);
    assert.ok(o.reply.metrics.ua >= 0 && o.reply.metrics.ua <= 1);
  }
  console.log(`pool test: ${((Date.now() - t0) / 1000).toFixed(1)} s for ${jobs.length} jobs`);
});

test('a job that depends on an unknown job is refused before any worker starts', async () => {
  await assert.rejects(runJobPool([job('a', finetuneJob(0), 1, ['nope'])], { workers: 1, quiet: true, label: 'x' }), /job a depends on unknown job nope/);
});

test('runSerExperiment: a failed pretraining fails only its arm\'s models; failures are returned and written to failures.json', async () => {
  const t0 = Date.now();
  const g = goncalves2022Settings('ci', { experiment: 'pool-failures', finetune: { arms: ['baseline', 'energy'], folds: 1, seeds: [1], pretrainPerFold: [], maxClips: { train: null, dev: null, test: null }, hyper: { epochs: 1 } }, compute: { workers: 1 } });
  const s = serExperimentSettings(g, root);
  assert.equal(s.featureStore, store);
  const broken = { ...pretrainSettingsFor(g, 'energy', { root }), data: join(root, 'no-such-corpus'), out: join(root, 'pretrain-broken') };
  s.pretraining.energy = { perFold: false, settings: broken };
  const r = await runSerExperiment(s, { root, quiet: true, force: false });
  assert.deepEqual(r.results.map((x) => x.arm), ['baseline'], 'the baseline still trains');
  assert.equal(r.trained, 1);
  assert.deepEqual(r.failures.map((f) => [f.arm, f.mode, f.seed]), [['energy', 'pretrain', null], ['energy', 'full', 1]]);
  assert.match(r.failures[0].message, /no-such-corpus/);
  assert.match(r.failures[1].message, /^not run: pretrain pretrain-broken failed/);
  assert.equal(r.failures[1].fold, r.folds[0]);
  const file = join(root, 'ser', 'pool-failures', FAILURES_FILE);
  assert.deepEqual((JSON.parse(readFileSync(file, 'utf8')) as { failures: unknown }).failures, r.failures);
  assert.deepEqual(readFailures('pool-failures', root), r.failures);
  console.log(`runSerExperiment failure test: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
