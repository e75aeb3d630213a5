/**
 * Child process for the shard tests: extracts part <i>/<n> of the audio features of the first <numClips>
 * EmoDB clips into <outDir> (one process per shard, as a cluster task would), printing "SHARD <k>" after each
 * chunk is on disk (pausing <pauseMs>, so the parent can kill it midway) and "DONE computed=.. resumed=..".
 * usage: tsx test/store/shardChild.ts <outDir> <numClips> <i/n> <shardSize> <pauseMs>
 */
import { join } from 'node:path';
import { audioFeatureSet } from '../../lib/audio/featureSet';
import { emodbManifest } from '../../lib/data/index';
import { extractFeatures } from '../../lib/store/featureStore';
import { parsePartSpec } from '../../lib/store/partition';
import { datasetsDir } from '../audio/shared';

const [dir, n, spec, shardSize, pauseMs] = process.argv.slice(2);
const full = emodbManifest(join(datasetsDir(), 'emodb'));
const manifest = { ...full, clips: full.clips.slice(0, Number(n)) };
const s = await extractFeatures({
  manifest, dir, set: audioFeatureSet(), shardSize: Number(shardSize), workers: 1, quiet: true, part: parsePartSpec(spec),
  onShardWritten: async (i) => { process.stdout.write(`SHARD ${i}\n`); await new Promise((r) => setTimeout(r, Number(pauseMs))); },
});
process.stdout.write(`DONE computed=${s.computedShards} resumed=${s.resumedShards}\n`);
