/**
 * Corpus-level builders: per-clip inputs (energy curves, activation curves, AU evidence, frame
 * embeddings) -> one label set per task (./labelsets) with its class balance. Pure: the inputs are
 * computed elsewhere (./labelerInputs reads media and features), so these run in tests on hand-made
 * data. Clips whose input is unusable (too short for one segment, no frames) are listed in the
 * set's quarantine with the reason; every other clip is labelled.
 */
import type { Clip, QuarantinedItem } from '../data/types';
import { errorMessage } from '../errors';
import type { TensorInput } from '../store/safetensors';
import { activationSegmentValues, ACTIVATION_DEFAULTS, type ActivationStatistic } from './activationTargets';
import { AU_LABELS, AU_RULE_DEFAULTS, applyBaseline, auRuleLabel, baselineFor, frameWinners, prototypeScores, sustainFrames, type AuEvidence, type AuRuleOptions } from './emfacs';
import { binarize, binaryBalance, energySegmentValues, ENERGY_DEFAULTS, median, speakerMedians, type EnergyStatistic, type Reference } from './energyTargets';
import { clusterPurity, kmeansFit, KMEANS_DEFAULTS, type KMeansFit, type KMeansOptions, type PurityReport } from './kmeans';
import type { ClipSummary, LabelSetSummary } from './labelsets';
import { SEGMENTATION_DEFAULTS, segmentFrames, type Segment, type Segmentation } from './segments';

export interface BuiltLabelSet {
  summary: LabelSetSummary;
  tensors: Record<string, TensorInput>;
}

const BINARY_CLASSES = ['low', 'high'];

function segmentsTensor(segs: Segment[]): TensorInput {
  const d = new Int32Array(segs.length * 2);
  segs.forEach((s, i) => { d[2 * i] = s.start; d[2 * i + 1] = s.end; });
  return { data: d, shape: [segs.length, 2] };
}

function binarySet(
  task: 'energy' | 'activation', corpus: string, params: Record<string, unknown>,
  rows: { clip: Clip; segs: Segment[]; values: Float64Array; threshold: number }[],
  quarantine: QuarantinedItem[], extra: Record<string, unknown>,
): BuiltLabelSet {
  const tensors: Record<string, TensorInput> = {};
  const perClip: ClipSummary[] = [];
  const balance = { low: 0, high: 0, excluded: 0 };
  for (const r of rows) {
    const labels = binarize(r.values, r.threshold);
    const b = binaryBalance(labels);
    balance.low += b.low; balance.high += b.high; balance.excluded += b.excluded;
    tensors[`${r.clip.id}/segments`] = segmentsTensor(r.segs);
    tensors[`${r.clip.id}/labels`] = { data: labels, shape: [labels.length] };
    tensors[`${r.clip.id}/values`] = { data: Float32Array.from(r.values), shape: [labels.length] };
    perClip.push({ id: r.clip.id, speaker: r.clip.speaker, counts: { low: b.low, high: b.high, excluded: b.excluded } });
  }
  const summary: LabelSetSummary = {
    format: 'emolab-pseudo-labels/1', task, corpus, unit: 'segment', classes: BINARY_CLASSES, balance,
    clips: rows.length, params, perClip, quarantine, extra, tensorsFile: `${task}.safetensors`,
  };
  return { summary, tensors };
}

export interface EnergySetOptions {
  segmentation?: Segmentation;
  statistic?: EnergyStatistic;
  reference?: Reference;
  floorDb?: number;
}

/** Task 1 over a corpus: per-clip energy curves (dB, 10 ms) -> high/low energy-variation segments. */
export function buildEnergyLabelSet(items: { clip: Clip; energyDb: ArrayLike<number> }[], opts: EnergySetOptions = {}, corpus = items[0]?.clip.corpus ?? 'unknown'): BuiltLabelSet {
  const segmentation = opts.segmentation ?? SEGMENTATION_DEFAULTS.fixed;
  const statistic = opts.statistic ?? ENERGY_DEFAULTS.statistic;
  const reference = opts.reference ?? ENERGY_DEFAULTS.reference;
  const floorDb = opts.floorDb ?? ENERGY_DEFAULTS.floorDb;
  const quarantine: QuarantinedItem[] = [];
  const rows: { clip: Clip; segs: Segment[]; values: Float64Array; threshold: number }[] = [];
  for (const { clip, energyDb } of items) {
    const segs = segmentFrames(energyDb.length, segmentation);
    if (segs.length === 0) { quarantine.push({ file: clip.audioPath ?? clip.id, stage: 'pseudo', reason: `${energyDb.length} frames: shorter than the shortest segmentable utterance` }); continue; }
    try {
      rows.push({ clip, segs, values: energySegmentValues(energyDb, segs, statistic, floorDb), threshold: NaN });
    } catch (e) {
      quarantine.push({ file: clip.audioPath ?? clip.id, stage: 'pseudo', reason: errorMessage(e) });
    }
  }
  const speakers = reference === 'speaker' ? speakerMedians(rows.map((r) => ({ speaker: r.clip.speaker, values: r.values }))) : undefined;
  for (const r of rows) r.threshold = speakers ? speakers.get(r.clip.speaker)! : median(r.values);
  return binarySet('energy', corpus, { segmentation: { ...SEGMENTATION_DEFAULTS[segmentation.mode], ...segmentation }, statistic, reference, floorDb, frameHopS: 0.01 }, rows, quarantine,
    speakers ? { speakerMedians: Object.fromEntries(speakers) } : {});
}

export interface ActivationSetOptions {
  segmentation?: Segmentation;
  minFaceFraction?: number;
  statistic?: ActivationStatistic;
}

/**
 * Task 2 over a corpus: per-clip activation and face-found tracks on the 10 ms grid -> high/low
 * segments against each speaker's median (over that speaker's included segments).
 */
export function buildActivationLabelSet(items: { clip: Clip; activation: ArrayLike<number>; faceFound: ArrayLike<number> }[], opts: ActivationSetOptions = {}, corpus = items[0]?.clip.corpus ?? 'unknown'): BuiltLabelSet {
  const segmentation = opts.segmentation ?? SEGMENTATION_DEFAULTS.fixed;
  const minFaceFraction = opts.minFaceFraction ?? ACTIVATION_DEFAULTS.minFaceFraction;
  const statistic = opts.statistic ?? ACTIVATION_DEFAULTS.statistic;
  const quarantine: QuarantinedItem[] = [];
  const rows: { clip: Clip; segs: Segment[]; values: Float64Array; threshold: number }[] = [];
  for (const { clip, activation, faceFound } of items) {
    const segs = segmentFrames(activation.length, segmentation);
    if (segs.length === 0) { quarantine.push({ file: clip.videoPath ?? clip.id, stage: 'pseudo', reason: `${activation.length} frames: shorter than the shortest segmentable utterance` }); continue; }
    try {
      const { values } = activationSegmentValues(activation, faceFound, segs, { minFaceFraction, statistic });
      rows.push({ clip, segs, values, threshold: NaN });
    } catch (e) {
      quarantine.push({ file: clip.videoPath ?? clip.id, stage: 'pseudo', reason: errorMessage(e) });
    }
  }
  const speakers = speakerMedians(rows.map((r) => ({ speaker: r.clip.speaker, values: r.values })));
  for (const r of rows) r.threshold = speakers.get(r.clip.speaker)!;
  for (const [s, m] of speakers) if (!Number.isFinite(m)) quarantine.push({ file: s, stage: 'pseudo', reason: `speaker ${s}: no segment with enough face frames, all excluded` });
  return binarySet('activation', corpus, { segmentation: { ...SEGMENTATION_DEFAULTS[segmentation.mode], ...segmentation }, minFaceFraction, statistic, reference: 'speaker', frameHopS: 0.01 }, rows, quarantine,
    { speakerMedians: Object.fromEntries(speakers) });
}

export interface AuSetOptions extends AuRuleOptions {
  /** Subtract each speaker's median AU evidence first (default 'speaker'). */
  baseline?: 'none' | 'speaker';
  /** Sustain in seconds, converted with each item's fps when minSustainFrames is not given (default 0.5). */
  minSustainS?: number;
}

/** Task 3 over a corpus: per-clip AU evidence -> one label and a soft label per utterance. */
export function buildAuLabelSet(items: { clip: Clip; evidence: AuEvidence; fps?: number }[], opts: AuSetOptions = {}, corpus = items[0]?.clip.corpus ?? 'unknown'): BuiltLabelSet & { predictions: { clip: Clip; label: number; soft: Float64Array }[] } {
  const baseline = opts.baseline ?? 'speaker';
  const quarantine: QuarantinedItem[] = [];
  const usable = items.filter(({ clip, evidence }) => {
    if (evidence.frames > 0) return true;
    quarantine.push({ file: clip.videoPath ?? clip.id, stage: 'pseudo', reason: 'no video frames' });
    return false;
  });
  const bases = new Map<string, Map<number, number>>();
  if (baseline === 'speaker') {
    const bySpeaker = new Map<string, AuEvidence[]>();
    for (const it of usable) bySpeaker.set(it.clip.speaker, [...(bySpeaker.get(it.clip.speaker) ?? []), it.evidence]);
    for (const [s, evs] of bySpeaker) bases.set(s, baselineFor(evs));
  }
  const tensors: Record<string, TensorInput> = {};
  const perClip: ClipSummary[] = [];
  const balance: Record<string, number> = Object.fromEntries(AU_LABELS.map((l) => [l, 0]));
  const predictions: { clip: Clip; label: number; soft: Float64Array }[] = [];
  const minSustainS = opts.minSustainS ?? 0.5;
  for (const { clip, evidence, fps } of usable) {
    const ev = baseline === 'speaker' ? applyBaseline(evidence, bases.get(clip.speaker)!) : evidence;
    const minSustainFrames = opts.minSustainFrames ?? (fps !== undefined ? sustainFrames(fps, minSustainS) : undefined);
    const r = auRuleLabel(ev, { ...opts, minSustainFrames });
    const winners = frameWinners(prototypeScores(ev, opts), opts.matchThreshold ?? AU_RULE_DEFAULTS.matchThreshold);
    balance[r.name]++;
    tensors[`${clip.id}/label`] = { data: Int32Array.of(r.label), shape: [1] };
    tensors[`${clip.id}/soft`] = { data: Float32Array.from(r.soft), shape: [r.soft.length] };
    tensors[`${clip.id}/winners`] = { data: winners, shape: [winners.length] };
    perClip.push({ id: clip.id, speaker: clip.speaker, label: r.name, counts: Object.fromEntries(AU_LABELS.map((l, i) => [l, r.wins[i]])) });
    predictions.push({ clip, label: r.label, soft: r.soft });
  }
  const summary: LabelSetSummary = {
    format: 'emolab-pseudo-labels/1', task: 'au', corpus, unit: 'utterance', classes: [...AU_LABELS], balance,
    clips: usable.length, params: { ...AU_RULE_DEFAULTS, ...opts, baseline, minSustainS: opts.minSustainFrames === undefined ? minSustainS : undefined }, perClip, quarantine,
    extra: { scoredPrototypes: usable.length ? auRuleLabel(usable[0].evidence, opts).scored : [] }, tensorsFile: 'au.safetensors',
  };
  return { summary, tensors, predictions };
}

export interface ClusterSetOptions extends KMeansOptions {
  /** Number of clusters (default 50, HFLEA's k for HuBERT base). */
  k?: number;
  /** Where the embeddings came from (model, layer), recorded with the set. */
  source?: Record<string, string | number>;
}

/**
 * Frame-level pseudo-emotion labels (Li et al.): k-means over all frames of all clips; purity
 * against the utterance emotion of each frame (clips with an emotion only).
 */
export function buildClusterLabelSet(items: { clip: Clip; frames: Float32Array }[], dim: number, opts: ClusterSetOptions = {}, corpus = items[0]?.clip.corpus ?? 'unknown'): BuiltLabelSet & { fit: KMeansFit; purity?: PurityReport; emotions: string[] } {
  const k = opts.k ?? 50;
  const quarantine: QuarantinedItem[] = [];
  const usable = items.filter(({ clip, frames }) => {
    const bad = frames.findIndex((v) => !Number.isFinite(v));
    if (frames.length > 0 && frames.length % dim === 0 && bad < 0) return true;
    const reason = bad >= 0 ? `embeddings have a non-finite value at frame ${Math.floor(bad / dim)}` : `embeddings hold ${frames.length} values, not a positive multiple of dim ${dim}`;
    quarantine.push({ file: clip.audioPath ?? clip.id, stage: 'pseudo', reason });
    return false;
  });
  const total = usable.reduce((a, it) => a + it.frames.length, 0);
  const all = new Float32Array(total);
  let o = 0;
  for (const it of usable) { all.set(it.frames, o); o += it.frames.length; }
  const fit = kmeansFit(all, dim, k, opts);
  const tensors: Record<string, TensorInput> = {};
  const perClip: ClipSummary[] = [];
  const balance: Record<string, number> = Object.fromEntries(Array.from({ length: k }, (_, j) => [String(j), 0]));
  const emotions = [...new Set(usable.map((it) => it.clip.emotion).filter((e): e is NonNullable<typeof e> => e !== undefined))].sort();
  const frameIds: number[] = [];
  const frameLabels: number[] = [];
  let f = 0;
  for (const { clip, frames } of usable) {
    const n = frames.length / dim;
    const ids = fit.ids.slice(f, f + n);
    f += n;
    tensors[`${clip.id}/ids`] = { data: ids, shape: [n] };
    const counts: Record<string, number> = {};
    for (const id of ids) { balance[String(id)]++; counts[String(id)] = (counts[String(id)] ?? 0) + 1; }
    perClip.push({ id: clip.id, speaker: clip.speaker, counts });
    if (clip.emotion) { const e = emotions.indexOf(clip.emotion); for (const id of ids) { frameIds.push(id); frameLabels.push(e); } }
  }
  const purity = frameIds.length ? clusterPurity(frameIds, frameLabels, k, emotions.length) : undefined;
  const summary: LabelSetSummary = {
    format: 'emolab-pseudo-labels/1', task: 'clusters', corpus, unit: 'frame', classes: Array.from({ length: k }, (_, j) => String(j)), balance,
    clips: usable.length, params: { ...KMEANS_DEFAULTS, ...opts, k, dim, method: fit.method }, perClip, quarantine,
    extra: { inertia: fit.inertia, iterations: fit.iterations, frames: total / dim, emotions, purity: purity?.purity, nmi: purity?.nmi, purityBaseline: purity?.baseline },
    tensorsFile: 'clusters.safetensors',
  };
  return { summary, tensors, fit, purity, emotions };
}
