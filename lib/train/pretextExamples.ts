/**
 * What a pretraining run learns from: the pretext tasks and their heads, the targets of each task
 * (task 1's computed from the energy curves, tasks 2 and 3's read from lib/pseudo label sets),
 * which clips train (spread over speakers; dominant speakers always train), and the training
 * examples (normalised fbank pieces with the targets that fall inside them).
 */
import type { Clip } from '../data/types';
import type { ClipAudio } from '../audio/clipFeatures';
import { buildEnergyLabelSet, type EnergySetOptions } from '../pseudo/build';
import { clipTensors, readLabelSet, type LabelSetSummary } from '../pseudo/labelsets';
import type { HeadSpec } from '../models/heads';
import type { HeadMetrics } from './losses';
import type { TensorMap, TypedArray } from '../store/safetensors';
import type { Example, LabelledSegment } from './batches';

export type PretextTaskName = 'energy' | 'activation' | 'au';
export type PretextTask = PretextTaskName | 'all';
export const PRETEXT_TASKS: readonly PretextTaskName[] = ['energy', 'activation', 'au'];

/** The head each pretext task trains. `au` classes come from its label set. */
export function pretextHead(task: PretextTaskName, auClasses = 8): HeadSpec {
  if (task === 'au') return { kind: 'utterance', name: 'au', classes: auClasses, pooling: 'mean' };
  return { kind: 'segment', name: task };
}

// ---------------------------------------------------------------------------------------------
// Targets

export interface TaskLabels {
  task: PretextTaskName;
  summary: LabelSetSummary;
  tensors: Record<string, { data: TypedArray; shape: number[] }>;
}

/** Task 1 targets computed here from the energy curves (lib/pseudo buildEnergyLabelSet). */
export function energyLabels(items: ClipAudio[], opts: EnergySetOptions = {}): TaskLabels {
  const built = buildEnergyLabelSet(items.map((i) => ({ clip: i.clip, energyDb: i.energyDb })), opts);
  return { task: 'energy', summary: built.summary, tensors: built.tensors };
}

/** Task 2/3 targets from a label set written by lib/pseudo (`<dir>/pseudo/<task>.safetensors`). */
export function labelsFromDisk(dir: string, task: PretextTaskName): TaskLabels {
  const { summary, tensors } = readLabelSet(dir, task);
  return { task, summary, tensors };
}

function perClip(labels: TaskLabels, clipId: string): Record<string, { data: TypedArray; shape: number[] }> {
  return clipTensors(labels.tensors as TensorMap, clipId);
}

/**
 * Training examples: normalised fbank (`opts.normalize`, see featureNormalizer) plus the targets each label set has for the
 * clip. Clips longer than `maxFrames` are cut into consecutive pieces (segments that fall inside a
 * piece go with it; an utterance label goes with every piece). Clips without any target are left out.
 */
export function buildExamples(items: ClipAudio[], labels: TaskLabels[], opts: { maxFrames: number; normalize: (fbank: Float32Array, frames: number) => Float32Array }): Example[] {
  const maxFrames = opts.maxFrames;
  const out: Example[] = [];
  for (const it of items) {
    const segments: Record<string, LabelledSegment[]> = {};
    const utt: Record<string, number> = {};
    for (const l of labels) {
      const t = perClip(l, it.clip.id);
      if (l.task === 'au') {
        if (t.label && t.label.data.length) utt.au = Number(t.label.data[0]);
      } else if (t.segments && t.labels) {
        const segs: LabelledSegment[] = [];
        for (let s = 0; s < t.labels.data.length; s++) {
          const start = Number(t.segments.data[2 * s]), end = Math.min(Number(t.segments.data[2 * s + 1]), it.frames);
          const label = Number(t.labels.data[s]);
          if (label >= 0 && end > start) segs.push({ start, end, label });
        }
        if (segs.length) segments[l.task] = segs;
      }
    }
    if (Object.keys(segments).length === 0 && Object.keys(utt).length === 0) continue;
    const features = opts.normalize(it.fbank, it.frames);
    const meta: Record<string, string> = { clip: it.clip.id, ...(it.clip.emotion ? { emotion: it.clip.emotion } : {}) };
    for (let start = 0, piece = 0; start < it.frames; start += maxFrames, piece++) {
      const end = Math.min(it.frames, start + maxFrames);
      if (end - start < 20 && start > 0) break;
      const segs: Record<string, LabelledSegment[]> = {};
      for (const [h, list] of Object.entries(segments)) {
        const inside = list.filter((s) => s.start >= start && s.end <= end).map((s) => ({ start: s.start - start, end: s.end - start, label: s.label }));
        if (inside.length) segs[h] = inside;
      }
      if (Object.keys(segs).length === 0 && Object.keys(utt).length === 0) continue;
      out.push({
        id: it.frames > maxFrames ? `${it.clip.id}#${piece}` : it.clip.id, speaker: it.clip.speaker,
        features: features.slice(start * 80, end * 80), frames: end - start, dim: 80,
        segments: segs, labels: { ...utt }, meta,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Clips

/** Take up to `n` clips, round-robin over speakers (sorted), so every speaker is represented. */
export function spreadOverSpeakers(clips: Clip[], n: number): Clip[] {
  if (clips.length <= n) return clips;
  const by = new Map<string, Clip[]>();
  for (const c of [...clips].sort((a, b) => a.id.localeCompare(b.id))) (by.get(c.speaker) ?? by.set(c.speaker, []).get(c.speaker)!).push(c);
  const lists = [...by.keys()].sort().map((s) => by.get(s)!);
  const out: Clip[] = [];
  for (let i = 0; out.length < n; i++) {
    let any = false;
    for (const l of lists) if (i < l.length && out.length < n) { out.push(l[i]); any = true; }
    if (!any) break;
  }
  return out;
}

/**
 * Speakers that hold more than `share` of a corpus's clips: they always train (a split that drew
 * GRID's s1, 1,000 of 1,040 clips, into dev or test would leave almost nothing to learn from).
 */
export function dominantSpeakers(clips: Clip[], share: number): string[] {
  const n = new Map<string, number>();
  for (const c of clips) n.set(c.speaker, (n.get(c.speaker) ?? 0) + 1);
  return [...n].filter(([, k]) => k > share * clips.length).map(([s]) => s).sort();
}

// ---------------------------------------------------------------------------------------------
// The rate to beat

/** A pretext head's held-out metrics; `majorityRate` is that of the majority class of the training targets. */
export type PretextTestMetrics = HeadMetrics & { testMajorityRate: number; majorityClassFromTrain: number };

/**
 * The majority-class rate a pretext accuracy must beat, from the TRAINING targets (the test set's
 * own majority would be an oracle that knows the test labels); the test set's own is kept as
 * `testMajorityRate`.
 */
export function withTrainMajority(test: Record<string, HeadMetrics>, train: Example[]): Record<string, PretextTestMetrics> {
  const trainCounts = (h: string): number[] => {
    const c: number[] = [];
    for (const e of train) {
      for (const seg of e.segments?.[h] ?? []) if (seg.label >= 0) c[seg.label] = (c[seg.label] ?? 0) + 1;
      const y = e.labels?.[h];
      if (y !== undefined && y >= 0) c[y] = (c[y] ?? 0) + 1;
    }
    return Array.from(c, (v) => v ?? 0);
  };
  return Object.fromEntries(Object.entries(test).map(([h, m]) => {
    const tc = trainCounts(h);
    const major = tc.reduce((best, v, i) => (v > (tc[best] ?? -1) ? i : best), 0);
    const rate = m.n ? (m.classCounts[major] ?? 0) / m.n : NaN;
    return [h, { ...m, testMajorityRate: m.majorityRate, majorityRate: rate, majorityClassFromTrain: major }];
  }));
}
