import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initBackend } from '../../lib/backend';
import { EmolabError } from '../../lib/errors';
import { encoderConfig } from '../../lib/models/encoder';
import { repoRoot } from '../../lib/paths';
import { emodbProtocol } from '../../lib/finetune/protocols';
import { ensureFoldPretraining, findPretrainedEncoders, foldSpeakers, runSerExperiment, type FoldSpeakers } from '../../lib/finetune/experiment';

process.env.EMOLAB_DATA ??= resolve(repoRoot, '../shared/datasets');

const root = mkdtempSync(join(tmpdir(), 'emolab-foldpre-'));
before(async () => { await initBackend(process.env.EMOLAB_BACKEND === 'cpu' ? 'cpu' : 'wasm'); });
after(() => rmSync(root, { recursive: true, force: true }));

const fold1: FoldSpeakers = { name: 'fold1-test-08+03', corpus: 'emodb', test: ['03', '08'] };

/** A run folder as pretrain() leaves it (run.json + a model file), hand-written. */
function fakeRun(dir: string, name: string, run: Record<string, unknown>): void {
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(join(dir, name, 'model.safetensors'), 'x');
  writeFileSync(join(dir, name, 'run.json'), JSON.stringify({ command: 'pretrain', files: { model: 'model.safetensors' }, config: { model: { encoder: encoderConfig('tiny') } }, ...run }));
}

test('an encoder pretrained on a fold\'s test speakers is refused; the fold-matched one is picked; other corpora are disjoint', () => {
  const dir = join(root, 'lookup');
  // all of EmoDB, as the old single pretrain-energy run did (older run.json: speakers only in its split)
  fakeRun(dir, 'pretrain-energy', { task: 'energy', dataset: { corpus: 'emodb' }, split: { speakers: { train: ['08', '09', '10'], dev: ['11'], test: ['03'] } } });
  fakeRun(dir, 'pretrain-activation', { task: 'activation', dataset: { corpus: 'av-speech-unlabeled', speakers: ['03', 'spk-a'] } });
  assert.throws(() => findPretrainedEncoders(dir, { fold: fold1 }), (e: unknown) => e instanceof EmolabError && /heard the audio of test speaker\(s\) 03, 08 of SER fold fold1-test-08\+03/.test(e.message) && e.file === join(dir, 'pretrain-energy', 'run.json'));
  // the per-fold run for fold 1 wins over the transductive one; another fold's run is ignored
  fakeRun(dir, 'pretrain-energy-fold1-test-08+03', { task: 'energy', fold: fold1.name, excludeSpeakers: ['03', '08'], dataset: { corpus: 'emodb', speakers: ['09', '10', '11', '12', '13', '14', '15', '16'] } });
  fakeRun(dir, 'pretrain-energy-fold2-test-09+10', { task: 'energy', fold: 'fold2-test-09+10', excludeSpeakers: ['09', '10'], dataset: { corpus: 'emodb', speakers: ['03', '08'] } });
  const found = findPretrainedEncoders(dir, { fold: fold1 });
  assert.deepEqual(found.map((p) => [p.arm, p.run]), [['energy', 'pretrain-energy-fold1-test-08+03'], ['activation', 'pretrain-activation']]);
  // without a fold only fold-independent runs are listed
  assert.deepEqual(findPretrainedEncoders(dir).map((p) => p.run), ['pretrain-energy', 'pretrain-activation']);
  // a fold-tagged run that nevertheless read a test speaker is refused too
  fakeRun(dir, 'pretrain-energy-fold1-test-08+03', { task: 'energy', fold: fold1.name, dataset: { corpus: 'emodb', speakers: ['08', '09'] } });
  assert.throws(() => findPretrainedEncoders(dir, { fold: fold1 }), /heard the audio of test speaker\(s\) 08/);
});

test('runSerExperiment refuses to fine-tune from an encoder that heard the fold\'s test speakers', async () => {
  const dir = join(root, 'experiment');
  fakeRun(dir, 'pretrain-energy', { task: 'energy', dataset: { corpus: 'emodb', speakers: ['03', '08', '09', '10', '11', '12', '13', '14', '15', '16'] } });
  await assert.rejects(
    runSerExperiment({ root: dir, arms: ['baseline', 'energy'], pretrainPerFold: [], folds: 1, quiet: true }),
    (e: unknown) => e instanceof EmolabError && /heard the audio of test speaker\(s\) 03, 08/.test(e.message),
  );
});

test('per-fold pretraining on real EmoDB audio never reads the fold\'s test speakers and is reused, not repeated', async () => {
  const dir = join(root, 'real');
  const fs = foldSpeakers(emodbProtocol().folds[0], 'emodb');
  assert.deepEqual(fs, fold1);
  const small = { preset: 'tiny' as const, maxClips: 10, epochs: 1, batchSize: 4, quiet: true };
  const first = await ensureFoldPretraining('energy', fs, small, dir);
  assert.equal(first.reused, false);
  const run = JSON.parse(readFileSync(join(first.runDir, 'run.json'), 'utf8'));
  assert.deepEqual(run.excludeSpeakers, ['03', '08']);
  assert.equal(run.fold, fs.name);
  const heard: string[] = [...run.dataset.speakers, ...run.split.speakers.train, ...run.split.speakers.dev, ...run.split.speakers.test];
  assert.ok(heard.length >= 3);
  for (const s of fs.test) assert.ok(!heard.includes(s), `test speaker ${s} in the pretraining manifest`);
  const clipIds: string[] = [...run.split.train, ...run.split.dev, ...run.split.test];
  assert.ok(clipIds.every((id) => !/^0[38]/.test(id)), 'a test speaker\'s clip was used'); // EmoDB ids start with the speaker
  const model = join(first.runDir, 'model.safetensors');
  const mtime = statSync(model).mtimeMs;
  const again = await ensureFoldPretraining('energy', fs, small, dir);
  assert.equal(again.reused, true);
  assert.equal(statSync(model).mtimeMs, mtime);
  // other settings: not reused
  const other = await ensureFoldPretraining('energy', fs, { ...small, maxClips: 11 }, dir);
  assert.equal(other.reused, false);
  const found = findPretrainedEncoders(dir, { fold: fs });
  assert.deepEqual(found.map((p) => p.run), ['pretrain-energy-fold1-test-08+03']);
});
