/**
 * Child process for the kill-and-resume test: extracts audio features of the first N EmoDB clips into a
 * store and prints "SHARD <i>" after each shard is on disk (pausing briefly so the parent can kill it midway).
 * usage: tsx test/store/extractChild.ts <storeDir> <numClips> <shardSize> <workers> <pauseMs>
 */
import { audioFeatureSet } from '../../lib/audio/featureSet';
import { emodbManifest } from '../../lib/data/index';
import { extractFeatures } from '../../lib/store/featureStore';
import { datasetsDir } from '../audio/shared';
import { join } from 'node:path';

const [dir, n, shardSize, workers, pauseMs] = process.argv.slice(2);
const full = emodbManifest(join(datasetsDir(), 'emodb'));
const manifest = { ...full, clips: full.clips.slice(0, Number(n)) };
const s = await extractFeatures({
  manifest, dir, set: audioFeatureSet(), shardSize: Number(shardSize), workers: Number(workers), quiet: true,
  onShardWritten: async (i) => { process.stdout.write(`SHARD ${i}\n`); await new Promise((r) => setTimeout(r, Number(pauseMs))); },
});
process.stdout.write(`DONE computed=${s.computedShards} resumed=${s.resumedShards}\n`);
