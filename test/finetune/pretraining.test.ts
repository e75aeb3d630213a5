import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { initBackend } from '../../lib/backend';
import { EmolabError } from '../../lib/errors';
import { encoderConfig } from '../../lib/models/encoder';
import { repoRoot } from '../../lib/paths';
import { emodbProtocol } from '../../lib/finetune/protocols';
import { PRETRAINING_MANIFEST } from '../../lib/finetune/results';
import { runSerExperiment } from '../../lib/finetune/experiment';
import { assertDisjoint, foldSpeakers, heardTestSpeakers, pretrainedEncoderAt, type FoldSpeakers } from '../../lib/finetune/encoderLookup';
import { goncalves2022Settings, pretrainSettingsFor, serExperimentSettings } from '../../lib/experiments/goncalves2022';
import { disposePretrain, pretrain } from '../../lib/train/pretrain';
import { finishedPretrainRun, pretrainConfigFingerprint, type PretrainSettings } from '../../lib/train/pretrainRun';
import { smallEmodbStore } from './shared';

process.env.EMOLAB_DATA ??= resolve(repoRoot, '../shared/datasets');

const root = mkdtempSync(join(tmpdir(), 'emolab-foldpre-'));
before(async () => { await initBackend(process.env.EMOLAB_BACKEND === 'cpu' ? 'cpu' : 'wasm'); });
after(() => rmSync(root, { recursive: true, force: true }));

const fold1: FoldSpeakers = { name: 'fold1-test-08+03', corpus: 'emodb', test: ['03', '08'] };

/** A run folder as pretrain() leaves it (run.json + a model file), hand-written. */
function fakeRun(runDir: string, run: Record<string, unknown>): string {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'model.safetensors'), 'x');
  writeFileSync(join(runDir, 'run.json'), JSON.stringify({ command: 'pretrain', files: { model: 'model.safetensors' }, config: { model: { encoder: encoderConfig('tiny') } }, ...run }));
  return runDir;
}

test('an encoder that heard a fold\'s test speakers is refused; a fold-specific one and one of another corpus pass', () => {
  const dir = join(root, 'lookup');
  // all of EmoDB, as the old single pretrain-energy run did (older run.json: speakers only in its split)
  const all = pretrainedEncoderAt(fakeRun(join(dir, 'pretrain-energy'), { task: 'energy', dataset: { corpus: 'emodb' }, split: { speakers: { train: ['08', '09', '10'], dev: ['11'], test: ['03'] } } }), 'energy');
  assert.deepEqual(all.speakers, ['03', '08', '09', '10', '11']);
  assert.deepEqual(heardTestSpeakers(all, fold1), ['03', '08']);
  assert.throws(() => assertDisjoint(all, fold1), (e: unknown) => e instanceof EmolabError && /heard the audio of test speaker\(s\) 03, 08 of SER fold fold1-test-08\+03/.test(e.message) && e.file === join(dir, 'pretrain-energy', 'run.json'));
  // another corpus: other people, even where a speaker label coincides
  const av = pretrainedEncoderAt(fakeRun(join(dir, 'pretrain-activation'), { task: 'activation', dataset: { corpus: 'av-speech-unlabeled', speakers: ['03', 'spk-a'] } }), 'activation');
  assert.deepEqual(heardTestSpeakers(av, fold1), []);
  assertDisjoint(av, fold1);
  // the per-fold run for fold 1 passes and says which fold it serves
  const perFold = pretrainedEncoderAt(fakeRun(join(dir, 'pretrain-energy-fold1-test-08+03'), { task: 'energy', fold: fold1.name, excludeSpeakers: ['08', '03'], dataset: { corpus: 'emodb', speakers: ['09', '10', '11', '12', '13', '14', '15', '16'] } }), 'energy');
  assertDisjoint(perFold, fold1);
  assert.equal(perFold.fold, fold1.name);
  assert.deepEqual(perFold.excludeSpeakers, ['03', '08']);
  assert.equal(perFold.run, 'pretrain-energy-fold1-test-08+03');
  // a fold-tagged run that nevertheless read a test speaker is refused too
  const leaky = pretrainedEncoderAt(fakeRun(join(dir, 'pretrain-energy-leaky'), { task: 'energy', fold: fold1.name, dataset: { corpus: 'emodb', speakers: ['08', '09'] } }), 'energy');
  assert.throws(() => assertDisjoint(leaky, fold1), /heard the audio of test speaker\(s\) 08 of/);
  // an unfinished run is no encoder
  mkdirSync(join(dir, 'unfinished'), { recursive: true });
  assert.throws(() => pretrainedEncoderAt(join(dir, 'unfinished'), 'energy'), /has no run\.json \(not finished\)/);
});

test('the experiment settings pretrain the energy arm per fold without the fold\'s test speakers; AV arms share one run', () => {
  const s = serExperimentSettings(goncalves2022Settings('ci'), root);
  const energy = s.pretraining.energy;
  assert.ok(energy.perFold);
  const st = energy.settingsFor(fold1);
  assert.equal(st.out, join(root, 'ci-pretrain-energy-fold1-test-08+03'));
  assert.deepEqual(st.excludeSpeakers, ['03', '08']);
  assert.equal(st.fold, fold1.name);
  assert.equal(st.data, 'emodb');
  const av = s.pretraining.activation;
  assert.equal(av.perFold, false);
  if (!av.perFold) {
    assert.equal(av.settings.out, join(root, 'ci-pretrain-activation'));
    assert.deepEqual(av.settings.excludeSpeakers, []);
    assert.equal(av.settings.fold, null);
  }
});

test('runSerExperiment refuses to fine-tune from an encoder that heard the fold\'s test speakers', async () => {
  const dir = join(root, 'experiment');
  await smallEmodbStore(join(dir, 'features', 'emodb'), 1);
  const s = serExperimentSettings(goncalves2022Settings('ci', { finetune: { arms: ['baseline', 'energy'], folds: 1, pretrainPerFold: [] } }), dir);
  const energy = s.pretraining.energy;
  assert.equal(energy.perFold, false);
  if (energy.perFold) return;
  // a finished run with exactly these settings (so it is reused, not retrained) that read all of EmoDB
  fakeRun(energy.settings.out, { task: 'energy', configFingerprint: pretrainConfigFingerprint(energy.settings), dataset: { corpus: 'emodb', speakers: ['03', '08', '09', '10', '11', '12', '13', '14', '15', '16'] } });
  assert.ok(finishedPretrainRun(energy.settings.out, energy.settings));
  await assert.rejects(
    runSerExperiment(s, { root: dir, quiet: true, force: false }),
    (e: unknown) => e instanceof EmolabError && /heard the audio of test speaker\(s\) 03, 08/.test(e.message),
  );
});

test('per-fold pretraining on real EmoDB audio never reads the fold\'s test speakers and is reused, not repeated', async () => {
  const t0 = Date.now();
  const dir = join(root, 'real');
  const fs = foldSpeakers(emodbProtocol().folds[0], 'emodb');
  assert.deepEqual(fs, fold1);
  const g = goncalves2022Settings('ci', { experiment: 'foldpre', finetune: { arms: ['energy'], folds: 1, maxClips: { train: null, dev: null, test: null }, hyper: { epochs: 1 } }, compute: { workers: 1 } });
  const base = pretrainSettingsFor(g, 'energy', { fold: fs, root: dir });
  const settings: PretrainSettings = { ...base, featureStore: null, maxClips: 10, budget: { ...base.budget, epochs: 1, batchSize: 4 } };
  const first = await pretrain(settings, { resume: true, quiet: true });
  disposePretrain(first);
  const run = JSON.parse(readFileSync(join(first.runDir, 'run.json'), 'utf8'));
  assert.deepEqual(run.excludeSpeakers, ['03', '08']);
  assert.equal(run.fold, fs.name);
  const heard: string[] = [...run.dataset.speakers, ...run.split.speakers.train, ...run.split.speakers.dev, ...run.split.speakers.test];
  assert.ok(heard.length >= 3);
  for (const sp of fs.test) assert.ok(!heard.includes(sp), `test speaker ${sp} in the pretraining manifest`);
  const clipIds: string[] = [...run.split.train, ...run.split.dev, ...run.split.test];
  assert.ok(clipIds.every((id) => !/^0[38]/.test(id)), 'a test speaker\'s clip was used'); // EmoDB ids start with the speaker
  assert.ok(finishedPretrainRun(first.runDir, settings), 'same settings: the finished run is found');
  assert.equal(finishedPretrainRun(first.runDir, { ...settings, maxClips: 11 }), undefined, 'other settings: not reused');
  assert.ok(finishedPretrainRun(first.runDir, { ...settings, out: join(dir, 'elsewhere'), featureStore: join(dir, 'cache') }), 'where it is written and the feature cache do not count');

  // the experiment reuses that run (no pretraining job) and fine-tunes from it
  await smallEmodbStore(join(dir, 'features', 'emodb'), 2);
  const s = serExperimentSettings(g, dir);
  s.pretraining.energy = { perFold: true, settingsFor: () => settings };
  const model = join(first.runDir, 'model.safetensors');
  const mtime = statSync(model).mtimeMs;
  const pre: { reused: boolean; fold: string | null }[] = [];
  const r = await runSerExperiment(s, { root: dir, quiet: true, force: false, onPretrain: (p) => pre.push({ reused: p.reused, fold: p.fold }) });
  assert.deepEqual(pre, [{ reused: true, fold: fs.name }]);
  assert.equal(statSync(model).mtimeMs, mtime, 'the encoder was not retrained');
  assert.deepEqual(r.failures, []);
  assert.deepEqual(r.results.map((x) => [x.arm, x.fold]), [['energy', fs.name]]);
  assert.deepEqual(r.pretraining.map((p) => [p.arm, p.fold, p.run, p.relation, p.testSpeakersHeard]), [['energy', fs.name, basename(settings.out), 'fold-specific: pretrained without this fold\'s test speakers', []]]);
  const manifest = JSON.parse(readFileSync(join(dir, 'ser', 'foldpre', PRETRAINING_MANIFEST), 'utf8'));
  assert.deepEqual(manifest.pretraining.map((p: { run: string }) => p.run), [basename(settings.out)]);
  console.log(`per-fold pretraining + reuse: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
