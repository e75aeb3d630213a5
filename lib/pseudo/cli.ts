/**
 * `emolab pseudo <task>`: compute a pretext label set for a corpus and save it beside its features
 * (./labelsets), printing the class balance. Same functions as notebook 04.
 *
 *   emolab pseudo energy   [--corpus emodb] [--segmentation fixed|chunks] [--length 100] [--hop 50]
 *                          [--count 5] [--statistic std|range|mean] [--reference utterance|speaker]
 *   emolab pseudo au       [--corpus mead-dreamtalk] [--fps 30] [--match 0.3] [--sustain-s 0.5]
 *                          [--baseline speaker|none] [--evidence presence|intensity]
 *   emolab pseudo activation [--corpus av] [--fps 30] [--min-face 0.5] (+ segmentation flags)
 *   emolab pseudo clusters --embeddings <file.safetensors> [--corpus <name>] [--k 50] [--seed 0]
 *                          [--method auto|lloyd|minibatch]
 *   emolab pseudo ravdess  [--tune odd|even] [--calm neutral|drop]   (check of the AU rule)
 * Common: --features <store dir> reads energy_db / face features from lib/store's feature store
 * (else they are computed from the media now); --out <dir> (default: the --features dir, else
 * $EMOLAB_RUNS/features/<corpus>); label sets go to <dir>/pseudo/; --limit N (first N clips).
 */
import { join } from 'node:path';
import { EmolabError } from '../errors';
import { corpusFlag, flagFloat, flagInt, flagString, parseArgs, type ParsedArgs } from '../args';
import { CORPUS_CHOICES, resolveCorpus } from '../data/corpora';
import { assertWritable, resultsDir } from '../paths';
import { writeJsonAtomic } from '../atomic';
import { readSafetensors } from '../store/safetensors';
import { runInfo } from '../runinfo';
import type { Clip, QuarantinedItem } from '../data/types';
import { buildActivationLabelSet, buildAuLabelSet, buildClusterLabelSet, buildEnergyLabelSet, type BuiltLabelSet } from './build';
import { defaultLabelDir } from './labelDir';
import { auEvidenceFromTrack } from './face';
import { saveKMeans } from './kmeans';
import { balanceShares, labelSetFiles, writeLabelSet } from './labelsets';
import { activationOnAudioGrid } from './activationOnAudioGrid';
import { ravdessAuCheck } from './ravdessAuCheck';
import { AU_LABELS } from './emfacs';
import { energyCurves, energyCurvesFromStore, faceTracks, facesFromStore, storedFaceFromTrack, type StoredFace } from './labelerInputs';
import { openFeatureStore } from '../store/featureStore';
import type { Segmentation } from './segments';

const USAGE = 'emolab pseudo energy|activation|au|clusters|ravdess [options]   (emolab pseudo for details)';

const DETAILS = `tasks and options (defaults in brackets):
  energy      task 1, high/low energy variation per segment   [--corpus emodb]
              --segmentation fixed|chunks [fixed]  --length FRAMES [100]  --hop FRAMES [50]  --count N [5]
              --statistic std|range|mean [std]  --reference utterance|speaker [utterance]
  activation  task 2, high/low facial activation per segment  [--corpus av]
              segmentation flags as above; --min-face FRACTION [0.5]  --fps N [30]
  au          task 3, EMFACS AU-combination emotion per utterance  [--corpus mead-dreamtalk]
              --match SCORE [0.3]  --sustain-s SECONDS [0.5]  --baseline speaker|none [speaker]
              --evidence presence|intensity [presence]  --fps N [30]
  clusters    frame k-means pseudo-labels  --embeddings FILE (one F32 [frames, dim] tensor per clip id)
              --k N [50]  --seed N [0]  --method auto|lloyd|minibatch [auto]  --corpus NAME (labels for purity)
  ravdess     check of the AU rule on RAVDESS OpenFace AUs: --tune odd|even [odd]  --calm neutral|drop [neutral]
common:
  --corpus ${CORPUS_CHOICES} | av | mead-dreamtalk   (folder:<dir> is the deprecated spelling)
  --features DIR   read energy_db / face features from this feature store instead of the media
  --out DIR        label sets go to DIR/pseudo/<task>.safetensors + .json [--features dir, else $EMOLAB_RUNS/features/<corpus>]
  --limit N        only the first N clips`;

/** Numeric flags of `emolab pseudo`, range-checked before any work starts. */
const flagNumber = (a: ParsedArgs, _cmd: string, name: string, fallback?: number): number | undefined => {
  const ints: Record<string, { min: number }> = { length: { min: 1 }, hop: { min: 1 }, count: { min: 1 }, k: { min: 2 }, seed: { min: 0 }, limit: { min: 1 } };
  if (name in ints) return flagInt(a, 'pseudo', name, ints[name], fallback);
  const floats: Record<string, { gt?: number; min?: number; max?: number }> = { fps: { gt: 0 }, match: { min: 0, max: 1 }, 'sustain-s': { min: 0 }, 'min-face': { min: 0, max: 1 } };
  return flagFloat(a, 'pseudo', name, floats[name] ?? {}, fallback);
};

function segmentation(a: ParsedArgs): Segmentation {
  const mode = flagString(a, 'segmentation', 'fixed');
  if (mode === 'fixed') return { mode, lengthFrames: flagNumber(a, 'pseudo', 'length'), hopFrames: flagNumber(a, 'pseudo', 'hop') };
  if (mode === 'chunks') return { mode, lengthFrames: flagNumber(a, 'pseudo', 'length'), count: flagNumber(a, 'pseudo', 'count') };
  throw new EmolabError('cli', `emolab pseudo: --segmentation must be fixed or chunks, got "${mode}"`);
}

function oneOf<T extends string>(a: ParsedArgs, name: string, allowed: readonly T[], fallback: T): T {
  const v = flagString(a, name, fallback)!;
  if (!(allowed as readonly string[]).includes(v)) throw new EmolabError('cli', `emolab pseudo: --${name} must be one of ${allowed.join(', ')}, got "${v}"`);
  return v as T;
}

function clipsOf(a: ParsedArgs, fallback: string): { clips: Clip[]; corpusName: string; quarantined: number } {
  const corpus = corpusFlag(a, 'pseudo') ?? fallback;
  // Where the label set goes is checked before anything is computed (a read-only runs folder fails now, not after the work).
  const dir = outDir(a, corpus);
  assertWritable(dir, flagString(a, 'out') ? '--out' : flagString(a, 'features') ? '--features' : 'EMOLAB_RUNS/features');
  const m = resolveCorpus(corpus);
  const limit = flagNumber(a, 'pseudo', 'limit');
  return { clips: limit !== undefined ? m.clips.slice(0, limit) : m.clips, corpusName: m.corpus, quarantined: m.quarantine.length };
}

const outDir = (a: ParsedArgs, corpus: string): string => flagString(a, 'out') ?? flagString(a, 'features') ?? defaultLabelDir(corpus);

/** Face features from the store (--features) or by tracking the videos now. */
async function faces(a: ParsedArgs, clips: Clip[]): Promise<{ items: { clip: Clip; face: StoredFace }[]; quarantine: QuarantinedItem[] }> {
  const features = flagString(a, 'features');
  if (features) return facesFromStore(openFeatureStore(features), clips);
  const { items, quarantine } = await faceTracks(clips, { fps: flagNumber(a, 'pseudo', 'fps', 30) });
  return { items: items.map(({ clip, track }) => ({ clip, face: storedFaceFromTrack(track) })), quarantine };
}

/** Frame rate from frame times. */
function fpsOf(times: ArrayLike<number>): number | undefined {
  const n = times.length;
  return n > 1 && times[n - 1] > times[0] ? (n - 1) / (times[n - 1] - times[0]) : undefined;
}

function save(a: ParsedArgs, corpusName: string, set: BuiltLabelSet): string {
  const dir = outDir(a, corpusFlag(a, 'pseudo') ?? corpusName);
  set.summary.run = { ...runInfo() } as unknown as Record<string, unknown>;
  const files = writeLabelSet(dir, set.summary, set.tensors);
  const shares = balanceShares(set.summary.balance);
  // A clip counts as labelled only when it got at least one target (a 0.3 s clip can yield no segment).
  const withTargets = set.summary.perClip.filter((p) => p.label !== undefined || Object.entries(p.counts ?? {}).some(([k, v]) => k !== 'excluded' && Number(v) > 0)).length;
  console.log(`${set.summary.task}: ${withTargets} clips labelled${withTargets < set.summary.clips ? ` (${set.summary.clips - withTargets} of the ${set.summary.clips} read gave no target: too short for one segment, or every segment excluded)` : ''}, ${set.summary.quarantine.length} quarantined`);
  for (const [k, v] of Object.entries(set.summary.balance)) console.log(`  ${k.padEnd(10)} ${String(v).padStart(7)}${k in shares ? `  ${(100 * shares[k]).toFixed(1)}%` : ''}`);
  for (const q of set.summary.quarantine.slice(0, 10)) console.log(`  quarantined: ${q.file}: ${q.reason}`);
  console.log(`wrote ${files.tensors}\n      ${files.summary}`);
  return dir;
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('pseudo', argv, {
    values: ['corpus', 'out', 'features', 'limit', 'segmentation', 'length', 'hop', 'count', 'statistic', 'reference', 'fps', 'match', 'sustain-s', 'baseline',
      'evidence', 'min-face', 'embeddings', 'k', 'seed', 'method', 'tune', 'calm'],
  });
  const task = a.positionals[0];
  if (!task || a.flags.help) { console.log(`usage: ${USAGE}\n\n${DETAILS}`); return task ? 0 : 2; }

  if (task === 'energy') {
    // Options first: a bad value fails before any clip is read.
    const opts = {
      segmentation: segmentation(a),
      statistic: oneOf(a, 'statistic', ['std', 'range', 'mean'] as const, 'std'),
      reference: oneOf(a, 'reference', ['utterance', 'speaker'] as const, 'utterance'),
    };
    const { clips, corpusName } = clipsOf(a, flagString(a, 'corpus', 'emodb')!);
    const features = flagString(a, 'features');
    const { items, quarantine } = await (features ? energyCurvesFromStore(openFeatureStore(features), clips) : energyCurves(clips));
    const set = buildEnergyLabelSet(items, opts, corpusName);
    set.summary.quarantine.unshift(...quarantine);
    save(a, corpusName, set);
    return 0;
  }
  if (task === 'au') {
    const evidence = oneOf(a, 'evidence', ['presence', 'intensity'] as const, 'presence');
    const opts = {
      matchThreshold: flagNumber(a, 'pseudo', 'match'),
      minSustainS: flagNumber(a, 'pseudo', 'sustain-s'),
      baseline: oneOf(a, 'baseline', ['speaker', 'none'] as const, 'speaker'),
    };
    flagNumber(a, 'pseudo', 'fps');
    const { clips, corpusName } = clipsOf(a, flagString(a, 'corpus', 'mead-dreamtalk')!);
    const { items, quarantine } = await faces(a, clips);
    const set = buildAuLabelSet(items.map(({ clip, face }) => ({ clip, evidence: auEvidenceFromTrack(face, { evidence }), fps: fpsOf(face.times) })), opts, corpusName);
    set.summary.quarantine.unshift(...quarantine);
    const known = set.predictions.filter((p) => p.clip.emotion);
    if (known.length) {
      const hits = known.filter((p) => AU_LABELS[p.label] === p.clip.emotion).length;
      console.log(`agreement with the corpus' emotion labels: ${hits}/${known.length}`);
    }
    save(a, corpusName, set);
    return 0;
  }
  if (task === 'activation') {
    const opts = { segmentation: segmentation(a), minFaceFraction: flagNumber(a, 'pseudo', 'min-face') };
    flagNumber(a, 'pseudo', 'fps');
    const { clips, corpusName } = clipsOf(a, flagString(a, 'corpus', 'av')!);
    const { items, quarantine } = await faces(a, clips);
    const set = buildActivationLabelSet(items.map(({ clip, face }) => ({ clip, ...activationOnAudioGrid(face) })), opts, corpusName);
    set.summary.quarantine.unshift(...quarantine);
    save(a, corpusName, set);
    return 0;
  }
  if (task === 'clusters') {
    const file = flagString(a, 'embeddings');
    if (!file) throw new EmolabError('cli', 'emolab pseudo clusters: --embeddings <file.safetensors> is required (one tensor [frames, dim] per clip, named by clip id)');
    const { tensors } = readSafetensors(file);
    const names = Object.keys(tensors).sort();
    if (names.length === 0) throw new EmolabError('pseudo', 'no tensors in the embeddings file', { file });
    const dim = tensors[names[0]].shape[1];
    const byId = new Map<string, Clip>();
    const corpus = flagString(a, 'corpus');
    if (corpus) for (const c of resolveCorpus(corpus).clips) byId.set(c.id, c);
    const items = names.map((id) => {
      const t = tensors[id];
      if (t.dtype !== 'F32' || t.shape.length !== 2 || t.shape[1] !== dim) throw new EmolabError('pseudo', `tensor "${id}" must be F32 [frames, ${dim}], got ${t.dtype} [${t.shape}]`, { file });
      return { clip: byId.get(id) ?? { id, corpus: corpus ?? 'embeddings', speaker: 'unknown' }, frames: t.data as Float32Array };
    });
    const set = buildClusterLabelSet(items, dim, {
      k: flagNumber(a, 'pseudo', 'k', 50), seed: flagNumber(a, 'pseudo', 'seed', 0),
      method: oneOf(a, 'method', ['auto', 'lloyd', 'minibatch'] as const, 'auto'), source: { embeddings: file },
    }, corpus ?? 'embeddings');
    const dir = save(a, corpus ?? 'embeddings', set);
    saveKMeans(labelSetFiles(dir, 'clusters').centroids, set.fit, { seed: set.fit.seed, method: set.fit.method, inertia: set.fit.inertia, embeddings: file });
    if (set.purity) console.log(`purity ${set.purity.purity.toFixed(3)} (majority-label floor ${set.purity.baseline.toFixed(3)}), NMI ${set.purity.nmi.toFixed(3)}`);
    console.log(`centroids: ${labelSetFiles(dir, 'clusters').centroids}`);
    return 0;
  }
  if (task === 'ravdess') {
    const check = ravdessAuCheck({ tuneHalf: oneOf(a, 'tune', ['odd', 'even'] as const, 'odd'), calmAs: oneOf(a, 'calm', ['neutral', 'drop'] as const, 'neutral') });
    console.log(`tuned on ${check.tuneHalf} actors (${check.tuneClips} clips, ${check.gridSize} configurations): ${JSON.stringify(check.best)} macro-F1 ${check.tuneF1.toFixed(3)}`);
    console.log(`held-out actors (${check.testClips} clips): macro-F1 ${check.test.metrics.f1.toFixed(3)}, UA ${check.test.metrics.ua.toFixed(3)}, WA ${check.test.metrics.wa.toFixed(3)}; strict untuned rule (presence, no baseline, match 0.75) ${check.untuned.metrics.f1.toFixed(3)}; chance ${Math.max(check.chance.stratified, check.chance.uniform).toFixed(3)}`);
    console.log(['truth\\pred', ...AU_LABELS].map((s) => s.slice(0, 9).padStart(9)).join(' '));
    check.test.confusion.forEach((row, i) => { if (row.some((x) => x > 0)) console.log([AU_LABELS[i], ...row.map(String)].map((s) => s.slice(0, 9).padStart(9)).join(' ')); });
    const out = join(resultsDir(), 'pseudo_au_ravdess.json');
    writeJsonAtomic(out, { ...check, test: { confusion: check.test.confusion, metrics: check.test.metrics, n: check.test.n }, untuned: { confusion: check.untuned.confusion, metrics: check.untuned.metrics }, labels: AU_LABELS });
    console.log(`wrote ${out}`);
    return 0;
  }
  throw new EmolabError('cli', `emolab pseudo: unknown task "${task}"`, { hint: USAGE });
}
