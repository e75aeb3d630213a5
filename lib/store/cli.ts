/**
 * `emolab store <subcommand>`: feature-store maintenance.
 *
 *   emolab store merge <part dir> [<part dir> ...] --out <store dir> [--quiet] [--json]
 *       join the shards of `features extract --shard i/n` (or `features face --corpus ... --shard i/n`) into
 *       one store, byte-identical to a single-process run; refuses missing, duplicated, unfinished or foreign shards.
 *   emolab store plan --corpus X --shards N [--root DIR] [--limit N]
 *       show how a manifest is split into N shards (clips and seconds per shard), without computing anything.
 */
import { resolve } from 'node:path';
import { flagNumber, flagString, parseArgs } from '../args';
import { EmolabError } from '../errors';

export const STORE_USAGE = [
  'usage: emolab store merge <part dir> [<part dir> ...] --out <store dir> [--quiet] [--json]',
  '       emolab store plan --corpus <name> --shards N [--root <corpus dir>] [--limit N]',
].join('\n');

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') { console.log(STORE_USAGE); return sub ? 0 : 2; }
  if (sub === 'merge') return runMerge(rest);
  if (sub === 'plan') return runPlan(rest);
  throw new EmolabError('cli', `emolab store: unknown subcommand "${sub}" (known: merge, plan)`, { hint: STORE_USAGE });
}

async function runMerge(argv: string[]): Promise<number> {
  const a = parseArgs('store merge', argv, { values: ['out'], booleans: ['quiet', 'json'] });
  if (a.flags.help) { console.log(STORE_USAGE); return 0; }
  const out = flagString(a, 'out');
  if (!out) throw new EmolabError('cli', 'emolab store merge: --out <store dir> is required', { hint: STORE_USAGE });
  if (a.positionals.length === 0) throw new EmolabError('cli', 'emolab store merge: name the shard folders (the --out folders of each --shard i/n run)', { hint: STORE_USAGE });
  const { mergeFeatureStores } = await import('./merge');
  const s = await mergeFeatureStores({ parts: a.positionals, out: resolve(out), quiet: Boolean(a.flags.quiet) });
  if (a.flags.json) console.log(JSON.stringify(s, null, 2));
  else for (const m of s.sets) console.log(`store merge: ${m.set} of ${m.corpus}: ${m.parts} shards -> ${m.clips} clips (${m.quarantined} quarantined) in ${m.shards} store shards at ${m.dir} (${m.resumedShards} kept from an earlier merge, ${s.seconds.toFixed(1)} s)`);
  return 0;
}

async function runPlan(argv: string[]): Promise<number> {
  const a = parseArgs('store plan', argv, { values: ['corpus', 'shards', 'root', 'limit'] });
  const corpus = flagString(a, 'corpus');
  const n = flagNumber(a, 'store plan', 'shards');
  if (!corpus || n === undefined || !Number.isInteger(n) || n < 1) throw new EmolabError('cli', 'emolab store plan: --corpus <name> and --shards N (a whole number >= 1) are required', { hint: STORE_USAGE });
  const { corpusManifest } = await import('../data/corpora');
  const { planParts } = await import('./partition');
  const { manifestFingerprint } = await import('./featureStore');
  const full = corpusManifest(corpus, { root: flagString(a, 'root') });
  const limit = flagNumber(a, 'store plan', 'limit');
  const manifest = limit !== undefined ? { ...full, clips: full.clips.slice(0, limit) } : full;
  const plan = planParts(manifest.clips, n);
  const unit = plan.weight === 'duration' ? 's' : plan.weight === 'bytes' ? 'bytes' : 'clips';
  console.log(`${manifest.corpus}: ${manifest.clips.length} clips, manifest ${manifestFingerprint(manifest)}, balanced by ${plan.weight}`);
  for (let k = 0; k < n; k++) {
    const clips = plan.partOf.filter((p) => p === k).length;
    console.log(`  shard ${k}/${n}: ${clips} clips, ${plan.loads[k].toFixed(plan.weight === 'duration' ? 1 : 0)} ${unit}`);
  }
  return 0;
}
