import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_SUBCOMMANDS, run } from '../../lib/audio/cli';
import { readSafetensors } from '../../lib/store/safetensors';
import { fixturesDir } from './shared';

test('emolab features fbank / mfcc write the parity tensors (max abs diff < 1e-2 vs torchaudio)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emolab-cli-'));
  try {
    const input = join(fixturesDir(), 'fbank', 'input.f32');
    const ref = readSafetensors(join(fixturesDir(), 'fbank', 'features.safetensors')).tensors;
    for (const [argv, name, refName] of [
      [['fbank', input, '--out', join(dir, 'fb.safetensors')], 'fbank', 'kaldi_fbank80'],
      [['fbank', input, '--kind', 'mfcc', '--out', join(dir, 'mf.safetensors')], 'mfcc', 'kaldi_mfcc13'],
    ] as const) {
      assert.equal(await run([...argv]), 0);
      const t = readSafetensors(argv[argv.length - 1]).tensors[name];
      assert.deepEqual(t.shape, ref[refName].shape);
      let m = 0;
      for (let i = 0; i < t.data.length; i++) m = Math.max(m, Math.abs((t.data[i] as number) - (ref[refName].data[i] as number)));
      assert.ok(m < 1e-2, `${name}: ${m}`);
    }
    await assert.rejects(run(['fbank', input]), /--out/);
    await assert.rejects(run(['nope']), /unknown subcommand "nope"/);
    for (const name of ['fbank', 'mfcc', 'extract']) assert.ok(FEATURE_SUBCOMMANDS.some((s) => s.name === name), name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
