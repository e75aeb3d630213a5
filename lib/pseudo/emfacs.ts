/**
 * Pretext task 3 (Goncalves & Busso): an emotion class per utterance derived from facial action
 * units (AUs) alone, with the EMFACS prototype combinations (Friesen & Ekman's EMFACS-7; the
 * combinations below are the commonly used prototypes):
 *
 *   happiness 6+12          sadness 1+4+15            surprise 1+2+5+26
 *   fear 1+2+4+5+7+20+26    anger 4+5+7+23            disgust 9+15+16
 *   contempt 12+14 on one side of the face only (R12A+R14A)
 *
 * Per frame, each AU has an evidence value in [0, 1] (a presence probability, a presence flag or a
 * scaled intensity; see `evidenceFrom*` in ./ravdess and the face adapter). The score of a
 * prototype in a frame is the mean evidence of its AUs — a partial match scores the fraction of the
 * combination present (3 of fear's 7 AUs -> 0.43). AUs that the AU source does not provide are
 * left out of the mean (OpenFace has no AU16, so its disgust is 9+15), and a prototype with none of
 * its AUs available is not scored. Contempt needs the left/right asymmetry of AU12/AU14 (MediaPipe
 * gives left and right blendshapes): its score is the mean of AU12 and AU14 of the stronger side
 * (`unilateral`, when given) in frames whose asymmetry is at least `asymmetryMin` (default 0.3),
 * else 0; without an asymmetry track it is not scored.
 *
 * A frame's winner is the prototype with the highest score when that score reaches
 * `matchThreshold` (default 0.3, chosen on held-out RAVDESS actors, see AU_RULE_DEFAULTS), ties
 * going to the larger combination (the more specific one); otherwise the frame is neutral. Over the whole
 * video a prototype is sustained when it wins at least `minSustainFrames` consecutive frames
 * (default 15 = 0.5 s at 30 fps). The utterance label is the sustained prototype that wins most
 * frames, or neutral when none is sustained. The soft label is the frame average of a softmax over
 * the prototype scores and a neutral score equal to `matchThreshold`, at temperature `temperature`
 * (default 0.1): a frame scoring just at the threshold splits its mass between that prototype and
 * neutral.
 *
 * Optional speaker baseline (`baselineFor` / `applyBaseline`): each AU's evidence minus that
 * speaker's median over all their frames, rescaled to [0, 1] — people differ in resting face and
 * a talking face opens its jaw (AU25/26) all the time; the baseline removes what is constant for
 * a person without using any emotion label. Pure functions.
 */
import { EmolabError } from '../errors';
import { median } from './energyTargets';

/** Emotions of the rule, in the order of every score vector; the label set adds 'neutral' first. */
export const AU_EMOTIONS = ['anger', 'contempt', 'disgust', 'fear', 'happiness', 'sadness', 'surprise'] as const;
export type AuEmotion = (typeof AU_EMOTIONS)[number];
/** Class ids of task 3 targets: 0 neutral, then AU_EMOTIONS. */
export const AU_LABELS = ['neutral', ...AU_EMOTIONS] as const;
export type AuLabel = (typeof AU_LABELS)[number];

/** EMFACS prototype AU combinations (FACS AU numbers). Contempt is unilateral (see module comment). */
export const EMFACS_PROTOTYPES: Readonly<Record<AuEmotion, readonly number[]>> = {
  anger: [4, 5, 7, 23],
  contempt: [12, 14],
  disgust: [9, 15, 16],
  fear: [1, 2, 4, 5, 7, 20, 26],
  happiness: [6, 12],
  sadness: [1, 4, 15],
  surprise: [1, 2, 5, 26],
};

/** Per-frame AU evidence in [0, 1] for one video. */
export interface AuEvidence {
  /** Number of frames. */
  frames: number;
  /** AU number -> evidence per frame (length `frames`). NaN = unknown (e.g. no face): scored as 0. */
  au: Map<number, Float32Array>;
  /** Left/right asymmetry of the lip corner (AU12/AU14) per frame in [0, 1]; absent = unknown. */
  asymmetry?: Float32Array;
  /** Evidence of the stronger side only (AU12, AU14), used by contempt; absent = use `au`. */
  unilateral?: Map<number, Float32Array>;
  /** Frames with a face (1) or without (0); absent = all frames have one. */
  faceFound?: Uint8Array;
}

export interface AuRuleOptions {
  /** Minimum prototype score for a frame to show that emotion (default 0.3). */
  matchThreshold?: number;
  /** Consecutive winning frames needed for a prototype to count as sustained (default 15). */
  minSustainFrames?: number;
  /** Minimum AU12/14 asymmetry for contempt (default 0.3). */
  asymmetryMin?: number;
  /** Softmax temperature of the soft label (default 0.1). */
  temperature?: number;
  /** When set, evidence is binarised (>= threshold -> 1, else 0) before scoring. */
  presenceThreshold?: number;
}

/**
 * Defaults. `matchThreshold` 0.3 is the value selected on the odd-numbered RAVDESS actors
 * (`ravdessAuCheck`; the grid spans 0.3-0.9): with the speaker baseline removing each person's
 * resting AUs, a third of a combination present is already informative, while 0.75 leaves almost
 * every clip neutral. `minSustainFrames` 15 = 0.5 s at 30 fps (use `sustainFrames(fps)`).
 */
export const AU_RULE_DEFAULTS = { matchThreshold: 0.3, minSustainFrames: 15, asymmetryMin: 0.3, temperature: 0.1 } as const;

/** Frames in `seconds` (default 0.5 s) at `fps`, at least 1. */
export function sustainFrames(fps: number, seconds = 0.5): number {
  return Math.max(1, Math.round(seconds * fps));
}

export interface AuRuleResult {
  /** Class id into AU_LABELS. */
  label: number;
  /** Its name. */
  name: AuLabel;
  /** Soft label over AU_LABELS (sums to 1). */
  soft: Float64Array;
  /** Frames won per class (AU_LABELS order; frames without a face are not counted). */
  wins: Int32Array;
  /** Longest run of consecutive wins per class. */
  longestRun: Int32Array;
  /** Prototypes that were scored (their AUs are available). */
  scored: AuEmotion[];
}

/** Per-frame prototype scores [frames][AU_EMOTIONS] (NaN = prototype not scorable with these AUs). */
export function prototypeScores(ev: AuEvidence, opts: AuRuleOptions = {}): Float32Array[] {
  const asymMin = opts.asymmetryMin ?? AU_RULE_DEFAULTS.asymmetryMin;
  const bin = opts.presenceThreshold;
  for (const [au, xs] of ev.au) {
    if (xs.length !== ev.frames) throw new EmolabError('pseudo', `AU rule: AU${au} has ${xs.length} frames, expected ${ev.frames}`);
  }
  if (ev.asymmetry && ev.asymmetry.length !== ev.frames) throw new EmolabError('pseudo', `AU rule: asymmetry has ${ev.asymmetry.length} frames, expected ${ev.frames}`);
  const value = (xs: Float32Array, t: number): number => {
    const x = xs[t];
    if (!Number.isFinite(x)) return 0;
    if (bin !== undefined) return x >= bin ? 1 : 0;
    return x < 0 ? 0 : x > 1 ? 1 : x;
  };
  const protos = AU_EMOTIONS.map((e) => {
    const src = (a: number): Float32Array | undefined => (e === 'contempt' ? ev.unilateral?.get(a) ?? ev.au.get(a) : ev.au.get(a));
    const aus = EMFACS_PROTOTYPES[e].map(src).filter((x): x is Float32Array => x !== undefined);
    const usable = e === 'contempt' ? (aus.length > 0 && ev.asymmetry !== undefined) : aus.length > 0;
    return { e, aus, usable };
  });
  const out: Float32Array[] = [];
  for (let t = 0; t < ev.frames; t++) {
    const row = new Float32Array(AU_EMOTIONS.length);
    protos.forEach((p, k) => {
      if (!p.usable) { row[k] = NaN; return; }
      let s = 0;
      for (const xs of p.aus) s += value(xs, t);
      s /= p.aus.length;
      if (p.e === 'contempt') {
        const a = ev.asymmetry![t];
        if (!(a >= asymMin)) s = 0;
      }
      row[k] = s;
    });
    out.push(row);
  }
  return out;
}

/** Winning class per frame (AU_LABELS ids; 0 neutral), ties -> larger prototype, then AU_EMOTIONS order. */
export function frameWinners(scores: Float32Array[], matchThreshold: number = AU_RULE_DEFAULTS.matchThreshold): Int32Array {
  const out = new Int32Array(scores.length);
  scores.forEach((row, t) => {
    let best = -1;
    for (let k = 0; k < row.length; k++) {
      const s = row[k];
      if (!(s >= matchThreshold)) continue;
      if (best < 0 || s > row[best] || (s === row[best] && EMFACS_PROTOTYPES[AU_EMOTIONS[k]].length > EMFACS_PROTOTYPES[AU_EMOTIONS[best]].length)) best = k;
    }
    out[t] = best + 1;
  });
  return out;
}

/** Apply the rule to one video: per-frame scores -> one label, a soft label and the evidence for it. */
export function auRuleLabel(ev: AuEvidence, opts: AuRuleOptions = {}): AuRuleResult {
  const thr = opts.matchThreshold ?? AU_RULE_DEFAULTS.matchThreshold;
  const minRun = opts.minSustainFrames ?? AU_RULE_DEFAULTS.minSustainFrames;
  const temp = opts.temperature ?? AU_RULE_DEFAULTS.temperature;
  if (!(temp > 0)) throw new EmolabError('pseudo', `AU rule: temperature must be > 0, got ${temp}`);
  if (!(minRun >= 1)) throw new EmolabError('pseudo', `AU rule: minSustainFrames must be >= 1, got ${minRun}`);
  const scores = prototypeScores(ev, opts);
  const winners = frameWinners(scores, thr);
  const nL = AU_LABELS.length;
  const wins = new Int32Array(nL);
  const longestRun = new Int32Array(nL);
  const soft = new Float64Array(nL);
  let run = 0, prev = -1, counted = 0;
  for (let t = 0; t < ev.frames; t++) {
    const face = ev.faceFound ? ev.faceFound[t] === 1 : true;
    if (!face) { prev = -1; run = 0; continue; }
    counted++;
    const w = winners[t];
    wins[w]++;
    run = w === prev ? run + 1 : 1;
    prev = w;
    if (run > longestRun[w]) longestRun[w] = run;
    // softmax over [neutral = threshold, scored prototypes]
    const logits = [thr / temp];
    for (let k = 0; k < AU_EMOTIONS.length; k++) logits.push(Number.isNaN(scores[t][k]) ? -Infinity : scores[t][k] / temp);
    const mx = Math.max(...logits);
    const ex = logits.map((l) => Math.exp(l - mx));
    const z = ex.reduce((a, b) => a + b, 0);
    ex.forEach((v, k) => { soft[k] += v / z; });
  }
  if (counted > 0) for (let k = 0; k < nL; k++) soft[k] /= counted;
  else soft[0] = 1;
  let label = 0;
  for (let k = 1; k < nL; k++) {
    if (longestRun[k] < minRun) continue;
    if (label === 0 || wins[k] > wins[label] || (wins[k] === wins[label] && soft[k] > soft[label])) label = k;
  }
  const scored = AU_EMOTIONS.filter((_, k) => scores.length === 0 || !Number.isNaN(scores[0][k]));
  return { label, name: AU_LABELS[label], soft, wins, longestRun, scored };
}

/** Per-AU median evidence over all frames (with a face) of a set of videos of one speaker. */
export function baselineFor(videos: AuEvidence[]): Map<number, number> {
  const pooled = new Map<number, number[]>();
  for (const v of videos) {
    for (const [au, xs] of v.au) {
      const list = pooled.get(au) ?? [];
      for (let t = 0; t < xs.length; t++) if (!v.faceFound || v.faceFound[t] === 1) list.push(xs[t]);
      pooled.set(au, list);
    }
  }
  return new Map([...pooled].map(([au, xs]) => [au, median(xs)]));
}

/**
 * Evidence minus the speaker baseline, rescaled so the baseline maps to 0 and 1 stays 1. The
 * stronger-side evidence used by contempt (`unilateral`) is shifted by the same per-AU baseline.
 */
export function applyBaseline(ev: AuEvidence, baseline: Map<number, number>): AuEvidence {
  const shift = (a: number, xs: Float32Array): Float32Array => {
    const b = baseline.get(a);
    if (b === undefined || !Number.isFinite(b)) return xs;
    // An AU at full evidence half the time or more says nothing about this person's emotion.
    if (b >= 1) return xs.map((x) => (Number.isFinite(x) ? 0 : x));
    const base = Math.max(0, b);
    return xs.map((x) => (Number.isFinite(x) ? Math.max(0, (x - base) / (1 - base)) : x));
  };
  const au = new Map([...ev.au].map(([a, xs]) => [a, shift(a, xs)]));
  const unilateral = ev.unilateral ? new Map([...ev.unilateral].map(([a, xs]) => [a, shift(a, xs)])) : undefined;
  return { ...ev, au, ...(unilateral ? { unilateral } : {}) };
}
