/**
 * Facial action units (FACS) from MediaPipe's 52 blendshapes.
 *
 * MediaPipe's blendshape model predicts the 52 coefficients of Apple's ARKit face model
 * (ARFaceAnchor.BlendShapeLocation), and ARKit's shapes were themselves modelled on FACS action
 * units: most shapes are one AU, split into left and right. So each AU below is read from the
 * blendshapes that describe the same muscle action:
 *
 * - Sources: P. Ekman, W. V. Friesen, J. C. Hager, Facial Action Coding System: Manual (2002) for
 *   what each AU is; Apple's ARKit documentation (developer.apple.com/documentation/arkit/
 *   arfaceanchor/blendshapelocation) for what each blendshape moves; the widely used ARKit→FACS
 *   correspondence table (M. Ozel, "ARKit to FACS: Blendshape Cheat Sheet", 2019); MediaPipe's
 *   "Blendshape V2" model card (the 52 ARKit-compatible outputs).
 * - Bilateral AUs are the mean of the left and right shapes (FACS codes an AU once, scoring the
 *   stronger side separately when asymmetric; the mean keeps the unilateral case visible at half
 *   intensity, which the presence threshold then decides).
 * - Where FACS has no single ARKit shape (AU23, AU25), the closest combination is used and the
 *   reason given; those two are the least reliable rows of the table.
 *
 * Intensities stay on the blendshapes' 0..1 scale. Presence (AU on/off, as OpenFace's AUxx_c) is
 * intensity >= a per-AU threshold; the default thresholds are listed in the table and can be
 * overridden, or re-derived from a corpus's neutral clips with `calibrateThresholds`.
 */
import { BLENDSHAPE_NAMES, N_BLENDSHAPES } from './landmarker';

export interface AuDefinition {
  /** "AU1", "AU12", ... */
  au: string;
  /** FACS name. */
  name: string;
  /** Upper face (brows, lids, cheeks) or lower face (nose, lips, jaw). */
  region: 'upper' | 'lower';
  /** Groups of blendshapes: each group is averaged, then the groups are combined by `combine`. */
  sources: string[][];
  combine: 'mean' | 'max';
  /** Default presence threshold on the 0..1 intensity. */
  threshold: number;
  /** Why these blendshapes. */
  why: string;
}

/**
 * The mapping. Default thresholds were set on the 24 MEAD "dreamtalk" front-view clips (3 speakers x
 * 8 emotions; distributions in notebook 03): each sits above the neutral clips' 90th percentile and
 * below the 90th percentile of the emotions that FACS associates with the AU (e.g. AU4: neutral
 * 0.00, anger 0.28, disgust 0.30 → 0.2; AU1: neutral 0.68, surprise 0.91 → 0.7 — MediaPipe gives these
 * speakers' neutral faces a high resting browInnerUp). Speech AUs (AU10, AU16, AU18, AU22, AU25,
 * AU26) fire during talking whatever the emotion. Known limitation of the MediaPipe v1 blendshape
 * model: cheekSquint and noseSneer stay near 0 on every clip (max 0.00 over all 24), so AU6 and AU9
 * are effectively never detected; rules needing them (AU6+AU12 for happiness, AU9 for disgust) must
 * lean on the other AUs. Three speakers is a small sample: re-derive thresholds for a new corpus with
 * `calibrateThresholds` on its neutral clips, or pass overrides to `auThresholds`.
 */
export const AU_DEFINITIONS: readonly AuDefinition[] = [
  { au: 'AU1', name: 'inner brow raiser', region: 'upper', sources: [['browInnerUp']], combine: 'mean', threshold: 0.7,
    why: 'ARKit browInnerUp is the upward movement of the inner brows: frontalis pars medialis, AU1.' },
  { au: 'AU2', name: 'outer brow raiser', region: 'upper', sources: [['browOuterUpLeft', 'browOuterUpRight']], combine: 'mean', threshold: 0.7,
    why: 'browOuterUp{Left,Right} raise the outer brows: frontalis pars lateralis, AU2.' },
  { au: 'AU4', name: 'brow lowerer', region: 'upper', sources: [['browDownLeft', 'browDownRight']], combine: 'mean', threshold: 0.2,
    why: 'browDown{Left,Right} lower the brows (corrugator/depressor supercilii), AU4.' },
  { au: 'AU5', name: 'upper lid raiser', region: 'upper', sources: [['eyeWideLeft', 'eyeWideRight']], combine: 'mean', threshold: 0.2,
    why: 'eyeWide{Left,Right} widen the eyes by raising the upper lid (levator palpebrae), AU5.' },
  { au: 'AU6', name: 'cheek raiser', region: 'upper', sources: [['cheekSquintLeft', 'cheekSquintRight']], combine: 'mean', threshold: 0.1,
    why: 'cheekSquint{Left,Right} raise the cheeks around the lower lid (orbicularis oculi, orbital part), AU6.' },
  { au: 'AU7', name: 'lid tightener', region: 'upper', sources: [['eyeSquintLeft', 'eyeSquintRight']], combine: 'mean', threshold: 0.6,
    why: 'eyeSquint{Left,Right} narrow the eye by tightening the lids (orbicularis oculi, palpebral part), AU7. Rests at 0.3-0.4 on many faces, hence 0.6.' },
  { au: 'AU9', name: 'nose wrinkler', region: 'lower', sources: [['noseSneerLeft', 'noseSneerRight']], combine: 'mean', threshold: 0.1,
    why: 'noseSneer{Left,Right} raise the sides of the nose, wrinkling it (levator labii superioris alaeque nasi), AU9.' },
  { au: 'AU10', name: 'upper lip raiser', region: 'lower', sources: [['mouthUpperUpLeft', 'mouthUpperUpRight']], combine: 'mean', threshold: 0.5,
    why: 'mouthUpperUp{Left,Right} raise the upper lip (levator labii superioris), AU10.' },
  { au: 'AU12', name: 'lip corner puller', region: 'lower', sources: [['mouthSmileLeft', 'mouthSmileRight']], combine: 'mean', threshold: 0.4,
    why: 'mouthSmile{Left,Right} pull the lip corners up and back (zygomaticus major), AU12.' },
  { au: 'AU14', name: 'dimpler', region: 'lower', sources: [['mouthDimpleLeft', 'mouthDimpleRight']], combine: 'mean', threshold: 0.2,
    why: 'mouthDimple{Left,Right} pull the lip corners straight back, dimpling (buccinator), AU14.' },
  { au: 'AU15', name: 'lip corner depressor', region: 'lower', sources: [['mouthFrownLeft', 'mouthFrownRight']], combine: 'mean', threshold: 0.15,
    why: 'mouthFrown{Left,Right} pull the lip corners down (depressor anguli oris), AU15.' },
  { au: 'AU16', name: 'lower lip depressor', region: 'lower', sources: [['mouthLowerDownLeft', 'mouthLowerDownRight']], combine: 'mean', threshold: 0.4,
    why: 'mouthLowerDown{Left,Right} pull the lower lip down (depressor labii inferioris), AU16. Also moves with speech.' },
  { au: 'AU17', name: 'chin raiser', region: 'lower', sources: [['mouthShrugLower']], combine: 'mean', threshold: 0.15,
    why: 'mouthShrugLower pushes the lower lip up and out by raising the chin boss (mentalis), AU17.' },
  { au: 'AU18', name: 'lip pucker', region: 'lower', sources: [['mouthPucker']], combine: 'mean', threshold: 0.5,
    why: 'mouthPucker contracts and protrudes the lips (incisivii labii), AU18.' },
  { au: 'AU20', name: 'lip stretcher', region: 'lower', sources: [['mouthStretchLeft', 'mouthStretchRight']], combine: 'mean', threshold: 0.2,
    why: 'mouthStretch{Left,Right} stretch the lip corners sideways (risorius/platysma), AU20.' },
  { au: 'AU22', name: 'lip funneler', region: 'lower', sources: [['mouthFunnel']], combine: 'mean', threshold: 0.3,
    why: 'mouthFunnel shapes the lips into a funnel (orbicularis oris), AU22.' },
  { au: 'AU23', name: 'lip tightener', region: 'lower', sources: [['mouthPressLeft', 'mouthPressRight'], ['mouthRollUpper', 'mouthRollLower']], combine: 'mean', threshold: 0.1,
    why: 'No ARKit shape is AU23 alone. Lip tightening narrows the red of the lips and firms them (orbicularis oris); the closest shapes are mouthPress (lips pressed) and mouthRoll (red of the lips turned in): their mean. Shares sources with AU24 and AU28; least reliable row with AU25.' },
  { au: 'AU24', name: 'lip pressor', region: 'lower', sources: [['mouthPressLeft', 'mouthPressRight']], combine: 'mean', threshold: 0.15,
    why: 'mouthPress{Left,Right} press the lips together (orbicularis oris), AU24.' },
  { au: 'AU25', name: 'lips part', region: 'lower', sources: [['jawOpen'], ['mouthLowerDownLeft', 'mouthLowerDownRight'], ['mouthUpperUpLeft', 'mouthUpperUpRight']], combine: 'max', threshold: 0.25,
    why: 'No ARKit shape is "lips apart". The lips part whenever the jaw drops (jawOpen), the lower lip is pulled down (mouthLowerDown) or the upper lip is raised (mouthUpperUp): the largest of the three. Active during most speech.' },
  { au: 'AU26', name: 'jaw drop', region: 'lower', sources: [['jawOpen']], combine: 'mean', threshold: 0.25,
    why: 'jawOpen lowers the jaw (relaxed masseter/temporalis), AU26 (AU27 mouth stretch is a wider jawOpen). Active during most speech.' },
  { au: 'AU28', name: 'lip suck', region: 'lower', sources: [['mouthRollUpper', 'mouthRollLower']], combine: 'mean', threshold: 0.15,
    why: 'mouthRoll{Upper,Lower} roll the lips in over the teeth (orbicularis oris), AU28.' },
  { au: 'AU45', name: 'blink', region: 'upper', sources: [['eyeBlinkLeft', 'eyeBlinkRight']], combine: 'mean', threshold: 0.4,
    why: 'eyeBlink{Left,Right} close the eyelids (relaxed levator, orbicularis oculi), AU45 (AU43 eyes closed when held).' },
];

export const AU_NAMES: readonly string[] = AU_DEFINITIONS.map((d) => d.au);

const bsIndex = new Map(BLENDSHAPE_NAMES.map((n, i) => [n, i]));

function sourceIndices(defs: readonly AuDefinition[]): number[][][] {
  return defs.map((d) => d.sources.map((g) => g.map((name) => {
    const k = bsIndex.get(name);
    if (k === undefined) throw new Error(`AU ${d.au}: unknown blendshape "${name}"`);
    return k;
  })));
}

/**
 * Per-frame AU intensities [frames * nAUs] (columns in `defs` order) from blendshapes
 * [frames * 52]. NaN blendshapes (no face) give NaN AUs. Pure.
 */
export function blendshapesToAus(blendshapes: ArrayLike<number>, defs: readonly AuDefinition[] = AU_DEFINITIONS): Float32Array {
  if (blendshapes.length % N_BLENDSHAPES !== 0) throw new Error(`blendshapes length ${blendshapes.length} is not a multiple of ${N_BLENDSHAPES}`);
  const frames = blendshapes.length / N_BLENDSHAPES;
  const idx = sourceIndices(defs);
  const out = new Float32Array(frames * defs.length);
  for (let t = 0; t < frames; t++) {
    const row = t * N_BLENDSHAPES;
    for (let a = 0; a < defs.length; a++) {
      const groups = idx[a].map((g) => g.reduce((s, k) => s + blendshapes[row + k], 0) / g.length);
      out[t * defs.length + a] = defs[a].combine === 'max' ? Math.max(...groups) : groups.reduce((s, v) => s + v, 0) / groups.length;
    }
  }
  return out;
}

/** Thresholds by AU name: the defaults of `defs`, with `overrides` applied. */
export function auThresholds(overrides: Partial<Record<string, number>> = {}, defs: readonly AuDefinition[] = AU_DEFINITIONS): number[] {
  for (const k of Object.keys(overrides)) if (!defs.some((d) => d.au === k)) throw new Error(`unknown AU "${k}" in thresholds (known: ${defs.map((d) => d.au).join(', ')})`);
  return defs.map((d) => overrides[d.au] ?? d.threshold);
}

/** Presence [frames * nAUs]: 1 when intensity >= threshold, 0 otherwise (and where NaN). Pure. */
export function auPresence(aus: ArrayLike<number>, thresholds: readonly number[] = auThresholds()): Uint8Array {
  const n = thresholds.length;
  if (aus.length % n !== 0) throw new Error(`AU matrix length ${aus.length} is not a multiple of ${n} AUs`);
  const out = new Uint8Array(aus.length);
  for (let i = 0; i < aus.length; i++) out[i] = aus[i] >= thresholds[i % n] ? 1 : 0;
  return out;
}

/**
 * Thresholds from neutral material: per AU, the `quantile` (default 0.95) of its intensity over
 * the given frames, never below `floor` (default 0.2). With neutral clips as input, an AU is then
 * "present" only when stronger than it is on 95% of neutral frames. Pure.
 */
export function calibrateThresholds(aus: ArrayLike<number>, nAus: number, quantile = 0.95, floor = 0.2): number[] {
  const out: number[] = [];
  for (let a = 0; a < nAus; a++) {
    const col: number[] = [];
    for (let i = a; i < aus.length; i += nAus) if (Number.isFinite(aus[i])) col.push(aus[i]);
    col.sort((x, y) => x - y);
    const q = col.length ? col[Math.min(col.length - 1, Math.floor(quantile * (col.length - 1) + 0.5))] : floor;
    out.push(Math.max(floor, q));
  }
  return out;
}

/** Fraction of (usable) frames in which each AU is present: [nAUs]. Pure. */
export function auPresenceRate(present: ArrayLike<number>, nAus: number, usable?: ArrayLike<number>): number[] {
  const on = new Array<number>(nAus).fill(0);
  let frames = 0;
  for (let t = 0; t * nAus < present.length; t++) {
    if (usable && !usable[t]) continue;
    frames++;
    for (let a = 0; a < nAus; a++) on[a] += present[t * nAus + a];
  }
  return on.map((v) => (frames ? v / frames : NaN));
}
