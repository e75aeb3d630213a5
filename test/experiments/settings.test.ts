/**
 * lib/experiments/goncalves2022: one complete, validated settings object per profile; overrides merge
 * into it and give a changed experiment its own name and run folders; bad values are refused naming
 * the setting; the memory check refuses the paper's scale on wasm; the pretraining fingerprint hashes
 * what a run learns and nothing else. Pure (no data, no training).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EmolabError } from '../../lib/errors';
import { encoderConfig } from '../../lib/models/encoder';
import { PROFILES } from '../../lib/profile';
import {
  checkMemory, goncalves2022Profile, goncalves2022Settings, pretrainSettingsFor, serExperimentSettings, validateGoncalves2022,
  type DeepPartial, type Goncalves2022Settings,
} from '../../lib/experiments/goncalves2022';
import { pretrainConfigFingerprint } from '../../lib/train/pretrainRun';

const ROOT = join('/nonexistent', 'emolab-settings-test-runs'); // paths only: nothing is read or written there

/** Assert that `over` is refused with an EmolabError whose message matches `re`. */
function refused(over: DeepPartial<Goncalves2022Settings>, re: RegExp): void {
  assert.throws(() => goncalves2022Settings('cpu', over), (e: unknown) => e instanceof EmolabError && re.test(e.message), `expected ${re}`);
}

test('every profile validates, and names its experiment and run folders after itself', () => {
  for (const p of PROFILES) {
    const s = goncalves2022Settings(p);
    validateGoncalves2022(goncalves2022Profile(p));
    assert.equal(s.profile, p);
    assert.equal(s.experiment, `emodb-${p}`);
    assert.equal(s.runsPrefix, p === 'cpu' ? '' : `${p}-`);
    assert.deepEqual(s, goncalves2022Profile(p), 'no override: the profile as it is');
    assert.deepEqual(s.encoder.config, encoderConfig(s.encoder.preset as 'tiny' | 'base'));
    // the stage objects built from it are complete
    const ser = serExperimentSettings(s, ROOT);
    assert.equal(ser.hyper.monitor, 'ua');
    assert.deepEqual(ser.arms, s.finetune.arms);
    for (const arm of ser.arms.filter((a) => a !== 'baseline' && a !== 'functionals')) assert.ok(ser.pretraining[arm], `${p}: ${arm} has pretraining settings`);
    const pre = pretrainSettingsFor(s, 'energy', { root: ROOT });
    assert.equal(pre.out, join(ROOT, `${s.runsPrefix}pretrain-energy`));
    assert.equal(pre.budget, s.pretext.budget.energy);
  }
  assert.equal(goncalves2022Settings('paper').encoder.preset, 'base');
  assert.equal(goncalves2022Settings('cpu').encoder.preset, 'tiny');
});

test('overrides merge into the profile, and a changed setting gets its own experiment name', () => {
  const base = goncalves2022Settings('cpu');
  const s = goncalves2022Settings('cpu', { finetune: { hyper: { epochs: 20 } } });
  assert.equal(s.finetune.hyper.epochs, 20);
  assert.deepEqual({ ...s.finetune.hyper, epochs: base.finetune.hyper.epochs }, base.finetune.hyper, 'the other hyper-parameters are kept');
  assert.deepEqual(s.finetune.seeds, base.finetune.seeds);
  assert.deepEqual(s.pretext, base.pretext);
  assert.match(s.experiment, /^emodb-cpu-[0-9a-f]{8}$/);
  const tag = s.experiment.slice('emodb-cpu-'.length);
  assert.equal(s.runsPrefix, `${tag}-`, 'and its own run folders');
  assert.equal(goncalves2022Settings('cpu', { finetune: { hyper: { epochs: 20 } } }).experiment, s.experiment, 'the same change, the same name');
  assert.notEqual(goncalves2022Settings('cpu', { finetune: { hyper: { epochs: 21 } } }).experiment, s.experiment, 'another change, another name');
  // arrays replace, they do not merge
  assert.deepEqual(goncalves2022Settings('cpu', { finetune: { seeds: [7] } }).finetune.seeds, [7]);
  // an override equal to the profile's value, or of workers/statistics only, changes nothing
  assert.equal(goncalves2022Settings('cpu', { finetune: { hyper: { epochs: base.finetune.hyper.epochs } } }).experiment, 'emodb-cpu');
  assert.equal(goncalves2022Settings('cpu', { compute: { workers: 1 }, statistics: { bootstrap: 10 } }).experiment, 'emodb-cpu');
  // an explicit experiment name is kept
  assert.equal(goncalves2022Settings('cpu', { experiment: 'mine', finetune: { hyper: { epochs: 20 } } }).experiment, 'mine');
  // encoder.preset alone re-derives the encoder config
  const small = goncalves2022Settings('cpu', { encoder: { preset: 'small' } });
  assert.deepEqual(small.encoder.config, encoderConfig('small'));
  assert.notEqual(small.experiment, 'emodb-cpu');
});

test('bad values are refused, naming the setting', () => {
  refused({ finetune: { hyper: { epochs: -3 } } }, /finetune\.hyper\.epochs must be a positive integer, got -3/);
  refused({ finetune: { hyper: { lr: 0 } } }, /finetune\.hyper\.lr must be a number > 0/);
  refused({ finetune: { hyper: { monitor: 'acc' as 'ua' } } }, /finetune\.hyper\.monitor must be accuracy, ua, f1 or loss, got "acc"/);
  refused({ finetune: { arms: ['baseline', 'nope'] } }, /finetune\.arms: unknown arm "nope"/);
  refused({ finetune: { seeds: [1, 2, 1] } }, /finetune\.seeds has duplicates: 1,2,1/);
  refused({ finetune: { seeds: [] } }, /finetune\.seeds is empty/);
  refused({ finetune: { modes: ['half' as 'full'] } }, /finetune\.modes: unknown mode "half"/);
  refused({ finetune: { maxClips: { train: 0 } } }, /finetune\.maxClips\.train must be a positive integer/);
  refused({ pretext: { budget: { energy: { batchSize: 2.5 } } } }, /pretext\.budget\.energy\.batchSize must be a positive integer, got 2\.5/);
  refused({ pretext: { avCorpora: ['youtube' as 'grid'] } }, /pretext\.avCorpora: unknown corpus "youtube"/);
  refused({ features: { normalization: 'speaker' as 'utterance' } }, /features\.normalization must be "utterance" or "training-set"/);
  refused({ compute: { workers: 0 } }, /compute\.workers must be a positive integer, got 0/);
  refused({ experiment: 'my run' }, /experiment "my run" must use letters/);
  // the unknown-arm refusal lists the arms
  try { goncalves2022Settings('cpu', { finetune: { arms: ['nope'] } }); assert.fail('not refused'); } catch (e) {
    assert.ok(e instanceof EmolabError);
    assert.match(String(e.hint), /functionals, baseline, energy, activation, au, all/);
  }
});

test('EMOLAB_PROFILE=full is refused with the rename hint; the default profile is cpu', () => {
  const saved = process.env.EMOLAB_PROFILE;
  try {
    process.env.EMOLAB_PROFILE = 'full';
    assert.throws(() => goncalves2022Settings(), /EMOLAB_PROFILE=full was renamed: use "paper" .* or "cpu"/);
    process.env.EMOLAB_PROFILE = 'fast';
    assert.throws(() => goncalves2022Settings(), /EMOLAB_PROFILE must be one of ci, cpu, paper, got "fast"/);
    delete process.env.EMOLAB_PROFILE;
    assert.equal(goncalves2022Settings().profile, 'cpu');
    process.env.EMOLAB_PROFILE = 'ci';
    assert.equal(goncalves2022Settings().experiment, 'emodb-ci');
  } finally {
    if (saved === undefined) delete process.env.EMOLAB_PROFILE; else process.env.EMOLAB_PROFILE = saved;
  }
});

test('checkMemory refuses the paper profile on wasm, naming encoder.preset and the batch size; cpu fits', () => {
  assert.throws(() => checkMemory(goncalves2022Settings('paper'), 'wasm'), (e: unknown) => {
    assert.ok(e instanceof EmolabError);
    assert.match(e.message, /the base encoder at batch 16 x 920 frames needs about .* GiB on wasm/);
    assert.match(String(e.hint), /finetune\.hyper\.batchSize/);
    assert.match(String(e.hint), /encoder\.preset \(tiny fits\)/);
    return true;
  });
  checkMemory(goncalves2022Settings('cpu'), 'wasm');
  checkMemory(goncalves2022Settings('ci'), 'wasm');
  // following the hint makes it fit
  checkMemory(goncalves2022Settings('paper', { encoder: { preset: 'tiny' } }), 'wasm');
});

test('pretrainConfigFingerprint: where a run is written and the feature cache do not count; the budget does', () => {
  const s = pretrainSettingsFor(goncalves2022Settings('ci'), 'energy', { root: ROOT });
  const fp = pretrainConfigFingerprint(s);
  assert.match(fp, /^[0-9a-f]{16}$/);
  assert.equal(pretrainConfigFingerprint({ ...s, out: join(ROOT, 'elsewhere'), featureStore: join(ROOT, 'other-cache') }), fp);
  assert.equal(pretrainConfigFingerprint({ ...s, featureStore: null }), fp);
  assert.notEqual(pretrainConfigFingerprint({ ...s, budget: { ...s.budget, epochs: s.budget.epochs + 1 } }), fp);
  assert.notEqual(pretrainConfigFingerprint({ ...s, seed: s.seed + 1 }), fp);
  assert.notEqual(pretrainConfigFingerprint({ ...s, normalization: 'utterance' }), fp);
  // excluded speakers count as a set
  const fold = pretrainSettingsFor(goncalves2022Settings('ci'), 'energy', { root: ROOT, fold: { name: 'f1', test: ['08', '03'] } });
  assert.deepEqual(fold.excludeSpeakers, ['03', '08']);
  assert.equal(pretrainConfigFingerprint({ ...fold, excludeSpeakers: ['08', '03', '08'] }), pretrainConfigFingerprint(fold));
  assert.notEqual(pretrainConfigFingerprint(fold), fp);
});
