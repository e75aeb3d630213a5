/**
 * Tasks 2 and 3's targets for a corpus of talking faces, computed once and cached:
 *
 *   videos --(lib/face, MediaPipe; lib/store feature store "face", resumable, one worker per core)-->
 *   face tracks at `faceTrack.fps`  --(activationOnAudioGrid + buildActivationLabelSet)--> task 2 set
 *                                   --(auEvidenceFromTrack + buildAuLabelSet)-------------> task 3 set
 *
 * The face tracks are the slow part (MediaPipe runs at about 20-30 frames per CPU-second here), so
 * they live in a feature store of their own (`storeDir`) and are reused by every later run with the
 * same clips and tracking settings; the label sets (`labelsDir`) are rebuilt from the stored tracks
 * in seconds whenever their settings change. Complete options, no defaults: they come from the
 * experiment's settings object (lib/experiments).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Clip, Manifest, QuarantinedItem } from '../data/types';
import { EmolabError } from '../errors';
import { faceFeatureSet } from '../face/features';
import { extractFeatures, openFeatureStore } from '../store/featureStore';
import { activationOnAudioGrid } from './activationOnAudioGrid';
import { buildActivationLabelSet, buildAuLabelSet, type ActivationSetOptions } from './build';
import { auEvidenceFromTrack } from './face';
import { labelSetFiles, writeLabelSet } from './labelsets';
import { facesFromStore } from './labelerInputs';

export interface FaceLabelOptions {
  /** Video frames per second fed to MediaPipe. */
  fps: number;
  numFaces: number;
  maxSide: number;
  activation: Required<ActivationSetOptions>;
  au: { matchThreshold: number; minSustainS: number; baseline: 'none' | 'speaker'; evidence: 'presence' | 'intensity' };
  /** Feature store of the face tracks (set "face"). */
  storeDir: string;
  /** Where the two label sets go (`<labelsDir>/pseudo/{activation,au}.*`). */
  labelsDir: string;
  /** Parallel face-tracking workers (threads). */
  workers: number;
  quiet: boolean;
}

export interface FaceLabelResult {
  /** Tasks whose label set was (re)built now; the others were reused. */
  built: ('activation' | 'au')[];
  tracked: number;
  trackSeconds: number;
  quarantine: QuarantinedItem[];
}

/** The settings a label set was built with, compared to decide reuse. */
function labelParams(o: FaceLabelOptions, task: 'activation' | 'au', clips: Clip[]): string {
  const ids = clips.map((c) => c.id).sort();
  return JSON.stringify({ task, fps: o.fps, numFaces: o.numFaces, maxSide: o.maxSide, rule: task === 'activation' ? o.activation : o.au, clips: ids });
}

function reusable(o: FaceLabelOptions, task: 'activation' | 'au', clips: Clip[]): boolean {
  const f = labelSetFiles(o.labelsDir, task);
  if (!existsSync(f.summary) || !existsSync(f.tensors)) return false;
  try {
    const summary = JSON.parse(readFileSync(f.summary, 'utf8')) as { params?: { builtWith?: string } };
    return summary.params?.builtWith === labelParams(o, task, clips);
  } catch {
    return false;
  }
}

/**
 * Make sure tasks 2 and 3's label sets exist in `o.labelsDir` for `clips` with these settings:
 * face tracks come from (or go into) the face feature store, then both sets are built from them.
 */
export async function ensureFaceLabelSets(manifest: Manifest, clips: Clip[], o: FaceLabelOptions): Promise<FaceLabelResult> {
  if (clips.length === 0) throw new EmolabError('pseudo', `no clips selected from ${manifest.corpus} for the face-derived targets`, { file: manifest.root });
  const todo = (['activation', 'au'] as const).filter((t) => !reusable(o, t, clips));
  if (todo.length === 0) return { built: [], tracked: 0, trackSeconds: 0, quarantine: [] };
  const t0 = Date.now();
  const sub: Manifest = { ...manifest, clips };
  const fx = await extractFeatures({
    manifest: sub, dir: o.storeDir, set: faceFeatureSet({ fps: o.fps, numFaces: o.numFaces, maxSide: o.maxSide }), workers: o.workers, quiet: o.quiet,
  });
  const trackSeconds = (Date.now() - t0) / 1000;
  const store = openFeatureStore(o.storeDir);
  const faces = facesFromStore(store, clips.filter((c) => store.has(c.id, 'blendshapes')));
  const quarantine: QuarantinedItem[] = [
    ...fx.index.quarantine.filter((q) => clips.some((c) => c.id === q.clipId)).map((q) => ({ file: q.file || q.clipId, stage: 'face' as const, reason: q.reason })),
    ...faces.quarantine,
  ];
  if (faces.items.length === 0) throw new EmolabError('pseudo', `no face track could be made for any of ${clips.length} clips: ${quarantine.slice(0, 3).map((q) => `${q.file}: ${q.reason}`).join('; ')}`, { file: o.storeDir });
  for (const task of todo) {
    const set = task === 'activation'
      ? buildActivationLabelSet(faces.items.map(({ clip, face }) => ({ clip, ...activationOnAudioGrid(face) })), o.activation, manifest.corpus)
      : buildAuLabelSet(
        faces.items.map(({ clip, face }) => ({ clip, evidence: auEvidenceFromTrack(face, { evidence: o.au.evidence }) })),
        { matchThreshold: o.au.matchThreshold, minSustainFrames: Math.max(1, Math.round(o.au.minSustainS * o.fps)), baseline: o.au.baseline }, manifest.corpus,
      );
    set.summary.quarantine.unshift(...quarantine);
    set.summary.params = { ...set.summary.params, fps: o.fps, builtWith: labelParams(o, task, clips) };
    writeLabelSet(o.labelsDir, set.summary, set.tensors);
  }
  return { built: [...todo], tracked: fx.clipsComputed, trackSeconds, quarantine };
}

/** Clips picked by a selection rule: at least `minDurationS`, at most `maxClips` (shortest first when asked), stable order. */
export function selectClips(clips: Clip[], sel: { maxClips: number | null; minDurationS: number; shortestFirst: boolean }): Clip[] {
  let out = clips.filter((c) => (c.durationS ?? Infinity) >= sel.minDurationS);
  out = sel.shortestFirst ? [...out].sort((a, b) => (a.durationS ?? 0) - (b.durationS ?? 0) || a.id.localeCompare(b.id)) : [...out].sort((a, b) => a.id.localeCompare(b.id));
  return sel.maxClips === null ? out : out.slice(0, sel.maxClips);
}
