/**
 * A full disk during feature extraction: the run fails with a clear EmolabError naming the file, no
 * temp file is left behind, and the store written before (shards + index) is untouched and readable;
 * once there is space again, the same call completes. Done twice: on a real 1 MiB tmpfs (when this
 * process may mount one, i.e. root on Linux) and by injecting ENOSPC into fs.writeSync (always).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs, { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { EmolabError } from '../../lib/errors';
import { extractFeatures, openFeatureStore, type FeatureSet } from '../../lib/store/featureStore';
import type { Manifest } from '../../lib/data/types';
import { hostileTmp, removeTmp, treeHashes } from './shared';

/** Three clips of 25 x 1000 float32 (100 kB each, one shard per clip); `version` changes every fingerprint. */
function bulkySet(version: string): FeatureSet {
  return {
    name: 'bulky', version, params: {}, features: { x: { dims: 1000, description: 'test' } },
    async extract(clip) {
      const data = new Float32Array(25 * 1000);
      for (let i = 0; i < data.length; i++) data[i] = (i % 97) + clip.id.length + Number(version);
      return { x: { data, frames: 25, dims: 1000 } };
    },
  };
}
const manifest: Manifest = { corpus: 'faults', root: '/', quarantine: [], clips: ['a', 'bb', 'ccc'].map((id) => ({ id, corpus: 'faults', speaker: 's', audioPath: `/nowhere/${id}.wav` })) };

/** Run 1 fits; run 2 (new version, `rebuild`: every shard recomputed) hits the full disk; run 2 again after freeing space. */
async function fullDiskScenario(storeRoot: string, fill: () => void, free: () => void): Promise<void> {
  const first = await extractFeatures({ manifest, dir: storeRoot, set: bulkySet('1'), workers: 1, shardSize: 1, quiet: true });
  assert.equal(first.computedShards, 3);
  const before = treeHashes(storeRoot);
  fill();
  await assert.rejects(
    extractFeatures({ manifest, dir: storeRoot, set: bulkySet('2'), workers: 1, shardSize: 1, quiet: true, rebuild: true }),
    (e: unknown) => e instanceof EmolabError && e.stage === 'store' && /ENOSPC|no space/i.test(e.message) && /shard-00000\.safetensors/.test(e.file ?? ''),
  );
  assert.deepEqual(readdirSync(join(storeRoot, 'bulky')).filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
  assert.deepEqual(treeHashes(storeRoot, /^filler$/), before, 'the earlier store is byte-for-byte intact');
  assert.equal(openFeatureStore(storeRoot).get('bb', 'x').data[0], 2 + 1, 'and still readable');
  free();
  const second = await extractFeatures({ manifest, dir: storeRoot, set: bulkySet('2'), workers: 1, shardSize: 1, quiet: true, rebuild: true });
  assert.equal(second.computedShards, 3);
  assert.equal(openFeatureStore(storeRoot).get('bb', 'x').data[0], 2 + 2);
}

const canMount = (): boolean => process.platform === 'linux' && process.getuid?.() === 0;

test('full disk (real 1 MiB tmpfs): extraction fails cleanly, earlier outputs intact, then completes', { skip: !canMount() && 'needs root on Linux to mount a tmpfs' }, async (t) => {
  const dir = hostileTmp('disk');
  const mnt = join(dir, 'small disk');
  mkdirSync(mnt);
  try {
    try { execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'ignore' }); } catch { t.skip('mount not permitted here'); return; }
    const filler = join(mnt, 'filler');
    await fullDiskScenario(mnt, () => {
      // fill what is left, minus 40 kB: less than one 100 kB shard
      const free = fs.statfsSync(mnt);
      writeFileSync(filler, Buffer.alloc(Math.max(0, Number(free.bavail) * Number(free.bsize) - 40_000)));
    }, () => rmSync(filler));
  } finally {
    try { execFileSync('umount', [mnt], { stdio: 'ignore' }); } catch { /* not mounted */ }
    removeTmp(dir);
  }
});

test('full disk (ENOSPC injected into fs.writeSync): extraction fails cleanly, earlier outputs intact, then completes', async () => {
  const dir = hostileTmp('enospc');
  const realWriteSync = fs.writeSync;
  const restore = (): void => { fs.writeSync = realWriteSync; syncBuiltinESMExports(); };
  try {
    await fullDiskScenario(join(dir, 'store'), () => {
      let budget = 40_000;
      fs.writeSync = ((fd: number, buf: NodeJS.ArrayBufferView, ...rest: unknown[]) => {
        const n = (buf as Uint8Array).byteLength;
        if (n > budget) { const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException; e.code = 'ENOSPC'; throw e; }
        budget -= n;
        return (realWriteSync as (...a: unknown[]) => number)(fd, buf, ...rest);
      }) as typeof fs.writeSync;
      syncBuiltinESMExports();
    }, restore);
  } finally {
    restore();
    removeTmp(dir);
  }
});
