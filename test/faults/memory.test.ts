/**
 * Memory bound of feature extraction over a CREMA-D-sized manifest: 7,442 synthetic clips of 0.1 s
 * (written with the TS WAV writer), audio features into the feature store, in this thread. Live memory
 * (V8 heap + array buffers, measured after a full GC) is sampled as shards are written; once past the
 * first tenth of the corpus it must stay flat — a store that kept each clip's features (~2.8 kB per
 * clip here, ~19 MB over the corpus) or its decoded audio would break the bound. RSS is reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { audioFeatureSet } from '../../lib/audio/featureSet';
import type { Clip } from '../../lib/data/types';
import { extractFeatures } from '../../lib/store/featureStore';
import { encodeWav } from '../audio/shared';
import { hostileTmp, removeTmp, speechLike } from './shared';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/**
 * Live bytes: V8 heap + array buffers after a full GC. Freed array buffers are swept on a background
 * thread, which lags on a busy machine, so take the smallest of three GC-and-wait readings.
 */
async function live(): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
    const m = process.memoryUsage();
    best = Math.min(best, m.heapUsed + m.arrayBuffers);
  }
  return best;
}
const MB = 1 << 20;

test('feature extraction over 7,442 clips streams: live memory stays flat as the corpus grows', async (t) => {
  // RAM-backed /dev/shm where there is one with room (~60 MB are written): this test is about the
  // process's memory, not disk speed
  const shm = existsSync('/dev/shm') && statfsSync('/dev/shm').bavail * statfsSync('/dev/shm').bsize > 512 * MB;
  const dir = hostileTmp('memory', shm ? '/dev/shm' : undefined);
  try {
    const N = 7442, shardSize = 32;
    const variants = Array.from({ length: 16 }, (_, k) => encodeWav([speechLike(0.1, k)], 16000));
    mkdirSync(join(dir, 'wav'));
    const clips: Clip[] = [];
    for (let i = 0; i < N; i++) {
      const file = join(dir, 'wav', `clip ${i}.wav`);
      writeFileSync(file, variants[i % variants.length]);
      clips.push({ id: `c${i}`, corpus: 'synthetic', speaker: `s${i % 91}`, audioPath: file });
    }
    const shards = Math.ceil(N / shardSize);
    const samples: { shard: number; live: number; rss: number }[] = [];
    const s = await extractFeatures({
      manifest: { corpus: 'synthetic', root: dir, clips, quarantine: [] }, dir: join(dir, 'store'), set: audioFeatureSet(), workers: 1, shardSize, quiet: true,
      onShardWritten: async (shard) => { if (shard % 8 === 0 || shard === shards - 1) samples.push({ shard, live: await live(), rss: process.memoryUsage().rss }); },
    });
    assert.equal(Object.keys(s.index.clips).length, N, 'every clip stored');
    // medians over the first fifth and the last four samples: single samples jitter by ~3 MB (buffers freed lazily)
    const median = (xs: number[]): number => { const v = [...xs].sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
    const early = median(samples.filter((x) => x.shard <= shards / 5).map((x) => x.live));
    const late = median(samples.slice(-4).map((x) => x.live));
    const growth = late - early;
    const rssGrowth = median(samples.slice(-4).map((x) => x.rss)) - median(samples.filter((x) => x.shard <= shards / 5).map((x) => x.rss));
    t.diagnostic(`live memory (heap + array buffers after GC): first fifth ${(early / MB).toFixed(1)} MB, last shards ${(late / MB).toFixed(1)} MB, growth ${(growth / MB).toFixed(2)} MB over ${N} clips; RSS growth ${(rssGrowth / MB).toFixed(1)} MB`);
    assert.ok(growth < 6 * MB, `live memory grew by ${(growth / MB).toFixed(1)} MB over ${N} clips`);
  } finally {
    removeTmp(dir);
  }
});
