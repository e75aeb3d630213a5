/**
 * The one loader of clips' audio features for the stages that learn or label from them (pretraining
 * in lib/train, task 1's energy curves in lib/pseudo): the 80-bin Kaldi log-mel filterbank
 * (25 ms / 10 ms) and the frame energies (dB) of lib/audio, read from a feature store (lib/store,
 * features `fbank` and `energy_db` of lib/audio's set) when it holds them, else computed from the
 * clip's media with the same lib/audio functions the store was filled with (decode + kaldiFbank +
 * frameEnergyDb; ~100 clips/s here, so small corpora need no store). A clip that fails is
 * quarantined with the reason and the others go on.
 *
 * (HFLEA's clips in lib/align are raw 16 kHz waveforms for HuBERT, not these features.)
 */
import type { Clip, QuarantinedItem } from '../data/types';
import { errorMessage } from '../errors';
import { progress } from '../show/progress';
import type { FeatureStore } from '../store/featureStore';
import { decodeAudio } from './decode';
import { frameEnergyDb } from './energy';
import { kaldiFbank } from './kaldi';

export type AudioFeatureName = 'fbank' | 'energy_db';

/** The features asked for, of one clip. */
export interface LoadedAudioFeatures {
  /** Kaldi log-mel filterbank, [frames, 80] row-major. */
  fbank?: { data: Float32Array; frames: number };
  /** Frame energy (dB re full scale), one per 10 ms frame. */
  energyDb?: Float32Array;
}

/**
 * Where the features come from:
 * - `store`: read from the feature store (a clip it lacks fails with the store's reason);
 * - `audio`: the store when it holds every feature asked for, else computed from the clip's audio file;
 * - `audio-or-video`: the same, with the audio track of the video when the clip has no audio file.
 */
export type FeatureSource = 'store' | 'audio' | 'audio-or-video';

export interface LoadOptions {
  features: readonly AudioFeatureName[];
  source: FeatureSource;
  store?: FeatureStore;
}

/** One clip's features (throws with the reason when they cannot be had). */
export async function clipAudioFeatures(clip: Clip, o: LoadOptions): Promise<LoadedAudioFeatures> {
  const want = (f: AudioFeatureName) => o.features.includes(f);
  const fromStore = (store: FeatureStore): LoadedAudioFeatures => ({
    ...(want('fbank') ? { fbank: store.get(clip.id, 'fbank') } : {}),
    ...(want('energy_db') ? { energyDb: store.get(clip.id, 'energy_db').data } : {}),
  });
  if (o.source === 'store') {
    if (!o.store) throw new Error('no feature store to read from');
    return fromStore(o.store);
  }
  if (o.store && o.features.every((f) => o.store!.has(clip.id, f))) return fromStore(o.store);
  const file = o.source === 'audio' ? clip.audioPath : clip.audioPath ?? clip.videoPath;
  if (!file) throw new Error(o.source === 'audio' ? `clip ${clip.id} has no audio` : 'clip has no audio or video path');
  const signal = await decodeAudio(file);
  return {
    ...(want('fbank') ? { fbank: kaldiFbank(signal, { numMelBins: 80, inputScale: 32768 }) } : {}),
    ...(want('energy_db') ? { energyDb: frameEnergyDb(signal) } : {}),
  };
}

export interface LoadManyOptions<T> extends LoadOptions {
  /** Stage named in the quarantine entries. */
  stage: string;
  /** Progress line label; null: no progress line. */
  label: string | null;
  quiet?: boolean;
  /** Turns a clip's features into the caller's item; throws to quarantine the clip. */
  accept: (clip: Clip, features: LoadedAudioFeatures) => T;
}

/** Many clips' features, with a progress line; clips that fail go to `quarantine` (file: the clip's media, else its id). */
export async function loadClipFeatures<T>(clips: Clip[], o: LoadManyOptions<T>): Promise<{ items: T[]; quarantine: QuarantinedItem[] }> {
  const items: T[] = [];
  const quarantine: QuarantinedItem[] = [];
  const bar = o.label === null ? undefined : progress(o.label, clips.length, { unit: 'clips', quiet: o.quiet });
  for (const clip of clips) {
    try {
      items.push(o.accept(clip, await clipAudioFeatures(clip, o)));
    } catch (e) {
      const file = o.source === 'audio-or-video' ? clip.audioPath ?? clip.videoPath : clip.audioPath;
      quarantine.push({ file: file ?? clip.id, stage: o.stage, reason: errorMessage(e) });
    }
    bar?.tick(1);
  }
  bar?.done();
  return { items, quarantine };
}

/** One clip's audio features on the 10 ms grid, as pretraining takes them. */
export interface ClipAudio {
  clip: Clip;
  /** Kaldi log-mel filterbank, [frames, 80] row-major. */
  fbank: Float32Array;
  frames: number;
  /** Frame energy (dB), same frames. */
  energyDb: Float32Array;
}

/**
 * Each clip's fbank and frame energies (store first, else its audio or the audio of its video),
 * cut to the frames both have; clips with under 20 frames (0.2 s) or non-finite features are
 * quarantined (stage `train`).
 */
export async function clipFeatures(clips: Clip[], opts: { quiet?: boolean; store?: FeatureStore } = {}): Promise<{ items: ClipAudio[]; quarantine: QuarantinedItem[] }> {
  return loadClipFeatures(clips, {
    features: ['fbank', 'energy_db'], source: 'audio-or-video', store: opts.store, stage: 'train', label: 'fbank', quiet: opts.quiet,
    accept: (clip, f) => {
      const fb = f.fbank!, energy = f.energyDb!;
      const frames = Math.min(fb.frames, energy.length);
      if (frames < 20) throw new Error(`only ${frames} frames (< 0.2 s of audio)`);
      let finite = true;
      for (let i = 0; i < frames * 80 && finite; i++) finite = Number.isFinite(fb.data[i]);
      if (!finite) throw new Error('features contain NaN or Inf');
      return { clip, fbank: fb.data.subarray(0, frames * 80), frames, energyDb: energy.subarray(0, frames) };
    },
  });
}
