/**
 * `emolab features <subcommand>`: per-file parity features and whole-corpus feature extraction.
 *
 *   emolab features fbank <in.wav|in.f32|any media> --out x.safetensors [--kind fbank|mfcc] [--bins N]
 *   emolab features mfcc  <in> --out x.safetensors
 *   emolab features [extract] --corpus <corpus> [--out <store dir>] [--workers N] [--shard-size 32] [--limit N]
 *     (<corpus>: lib/data/corpora CORPUS_HELP; --out defaults to $EMOLAB_RUNS/features/<corpus key>)
 *
 * These are the audio subcommands; the commands layer adds those of other stages (`features face`,
 * lib/commands/features.ts) through `run`'s `extra` table, so this stage imports no other stage's command.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { corpusFlag, flagInt, flagNumber, flagString, parseArgs, type Subcommand } from '../args';
import { CORPUS_CHOICES } from '../data/corpora';
import { EmolabError } from '../errors';

export type FeaturesSubcommand = Subcommand;

/** The audio subcommand table: one line per feature family. */
export const FEATURE_SUBCOMMANDS: FeaturesSubcommand[] = [
  {
    name: 'fbank',
    summary: 'Kaldi log-mel filterbank of one file -> tensor "fbank" [frames, 80] (or --kind mfcc)',
    usage: 'emolab features fbank <in.wav|in.f32|media> --out x.safetensors [--kind fbank|mfcc] [--bins N] [--sample-rate 16000]',
    run: (argv) => runParity('fbank', argv),
  },
  {
    name: 'mfcc',
    summary: 'Kaldi MFCC of one file -> tensor "mfcc" [frames, 13] (23 mel bins)',
    usage: 'emolab features mfcc <in.wav|in.f32|media> --out x.safetensors [--bins 23] [--ceps 13] [--sample-rate 16000]',
    run: (argv) => runParity('mfcc', argv),
  },
  {
    name: 'extract',
    summary: 'audio features (fbank, energy, F0) of a whole corpus into a resumable feature store; --shard i/n (0-based) computes part i of n into its own --out, joined by `emolab store merge`; --rebuild replaces a store of other settings',
    usage: `emolab features [extract] --corpus ${CORPUS_CHOICES} [--out <store dir>] [--workers N] [--shard-size 32] [--limit N] [--shard i/n --out <part dir>] [--rebuild]   (--out default: $EMOLAB_RUNS/features/<corpus key>)`,
    run: runExtract,
  },
];

export function featuresHelp(extra: readonly FeaturesSubcommand[] = []): string {
  const table = [...FEATURE_SUBCOMMANDS, ...extra];
  const w = Math.max(...table.map((s) => s.name.length));
  return ['usage: emolab features <subcommand> [options]', '', 'subcommands:', ...table.map((s) => `  ${s.name.padEnd(w)}  ${s.summary}\n  ${' '.repeat(w)}  ${s.usage}`)].join('\n');
}

/** `emolab features ...`; `extra`: subcommands of other stages, supplied by the commands layer. */
export async function run(argv: string[], extra: readonly FeaturesSubcommand[] = []): Promise<number | void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') { console.log(featuresHelp(extra)); return name ? 0 : 2; }
  // `emolab features --corpus <corpus> ...` is `emolab features extract --corpus <corpus> ...`.
  if (name.startsWith('--')) return runExtract(argv);
  const table = [...FEATURE_SUBCOMMANDS, ...extra];
  const sub = table.find((s) => s.name === name);
  if (!sub) throw new EmolabError('cli', `emolab features: unknown subcommand "${name}" (known: ${table.map((s) => s.name).join(', ')})`);
  if (rest.includes('--help') || rest.includes('-h')) { console.log(`usage: ${sub.usage}\n\n${sub.summary}`); return 0; }
  return sub.run(rest);
}

async function runParity(defaultKind: 'fbank' | 'mfcc', argv: string[]): Promise<number> {
  const cmd = `features ${defaultKind}`;
  const a = parseArgs(cmd, argv, { values: ['out', 'kind', 'bins', 'ceps', 'sample-rate'] });
  const input = a.positionals[0];
  const out = flagString(a, 'out');
  if (!input || a.positionals.length > 1) throw new EmolabError('cli', `emolab ${cmd}: give exactly one input file`, { hint: FEATURE_SUBCOMMANDS.find((s) => s.name === defaultKind)!.usage });
  if (!out) throw new EmolabError('cli', `emolab ${cmd}: --out <file.safetensors> is required`);
  const kind = flagString(a, 'kind', defaultKind);
  if (kind !== 'fbank' && kind !== 'mfcc') throw new EmolabError('cli', `emolab ${cmd}: --kind must be fbank or mfcc, got "${kind}"`);
  const sampleRate = flagNumber(a, cmd, 'sample-rate', 16000)!;
  const { decodeAudio } = await import('./decode');
  const { kaldiFbank, kaldiMfcc } = await import('./kaldi');
  const { writeSafetensors } = await import('../store/safetensors');
  const signal = await decodeAudio(resolve(input), { sampleRate });
  const bins = flagNumber(a, cmd, 'bins', kind === 'fbank' ? 80 : 23)!;
  const m = kind === 'fbank'
    ? kaldiFbank(signal, { sampleRate, numMelBins: bins })
    : kaldiMfcc(signal, { sampleRate, numMelBins: bins, numCeps: flagNumber(a, cmd, 'ceps', 13) });
  if (m.frames === 0) throw new EmolabError('audio', `input is ${signal.length} samples, shorter than one 25 ms window`, { file: input });
  const params = kind === 'fbank'
    ? `torchaudio.compliance.kaldi.fbank(x*32768, num_mel_bins=${bins}, frame_length=25, frame_shift=10, dither=0, window_type=povey, use_energy=False)`
    : `torchaudio.compliance.kaldi.mfcc(x*32768, num_ceps=${m.dims}, num_mel_bins=${bins}, frame_length=25, frame_shift=10, dither=0)`;
  writeSafetensors(resolve(out), { [kind]: { data: m.data, shape: [m.frames, m.dims] } }, { source: input, sample_rate: String(sampleRate), computed_as: params });
  console.log(`${kind} [${m.frames}, ${m.dims}] -> ${out}`);
  return 0;
}

async function runExtract(argv: string[]): Promise<number> {
  const cmd = 'features extract';
  const a = parseArgs(cmd, argv, { values: ['corpus', 'out', 'root', 'workers', 'shard-size', 'limit', 'shard'], booleans: ['rebuild'] });
  // One corpus argument: --corpus <name|folder|manifest.csv>; the old `--corpus folder --root DIR` still works (deprecated).
  let corpus = corpusFlag(a, cmd) ?? 'emodb';
  const root = flagString(a, 'root');
  if (root !== undefined) {
    console.error(`emolab ${cmd}: --root is deprecated: use --corpus ${corpus === 'folder' ? root : `${corpus} with EMOLAB_DATA`}`);
    if (corpus === 'folder') corpus = root;
  }
  const workers = flagInt(a, cmd, 'workers', { min: 1 }, availableParallelism())!;
  const shardSize = flagInt(a, cmd, 'shard-size', { min: 1 }, 32)!;
  const limit = flagInt(a, cmd, 'limit', { min: 1 });
  const { corpusRef, resolveCorpus } = await import('../data/corpora');
  const { runsRoot, assertWritable } = await import('../paths');
  const out = flagString(a, 'out') ?? resolve(runsRoot(), 'features', corpusRef(corpus).key);
  // Nothing is computed (and no empty folder left) when the store cannot be written.
  assertWritable(out, flagString(a, 'out') ? '--out' : 'feature store (EMOLAB_RUNS/features)');
  const shard = flagString(a, 'shard');
  const part = shard !== undefined ? (await import('../store/partition')).parsePartSpec(shard) : undefined;
  if (part && flagString(a, 'out') === undefined) throw new EmolabError('cli', `emolab ${cmd} --shard ${shard}: give the shard its own --out folder (the default is the whole store's)`, { hint: 'e.g. --out parts/<i>, then: emolab store merge parts/* --out <store>' });
  const { audioFeatureSet } = await import('./featureSet');
  const { extractFeatures } = await import('../store/featureStore');
  const full = resolveCorpus(corpus, root !== undefined && corpus !== root ? { root } : {});
  const manifest = limit !== undefined ? { ...full, clips: full.clips.slice(0, limit) } : full;
  const s = await extractFeatures({ manifest, dir: resolve(out), set: audioFeatureSet(), workers, shardSize, part, rebuild: Boolean(a.flags.rebuild) });
  const q = s.index.quarantine;
  console.log(`features audio${part ? ` [shard ${shard}]` : ''}: ${Object.keys(s.index.clips).length} clips in ${s.index.shards.length} shards at ${s.dir} (${s.computedShards} computed, ${s.resumedShards} resumed, ${s.workers} worker(s), ${s.seconds.toFixed(1)} s)`);
  if (q.length) console.log(`quarantined ${q.length}:\n${q.map((x) => `  ${x.clipId} [${x.file}]: ${x.reason}`).join('\n')}`);
  return 0;
}
