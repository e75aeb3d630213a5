/**
 * Inputs of the labelers, read from media or a feature store (the I/O edge of lib/pseudo): per-clip
 * energy curves (lib/audio's one feature loader: frameEnergyDb, 25 ms windows every 10 ms) and face
 * tracks from the video (lib/face: trackFaces, MediaPipe Face Landmarker). A clip that cannot be
 * decoded is quarantined with the reason and the others go on.
 */
import { clipAudioFeatures, loadClipFeatures, type LoadedAudioFeatures } from '../audio/clipFeatures';
import type { Clip, QuarantinedItem } from '../data/types';
import { errorMessage } from '../errors';
import { progress } from '../show/progress';
import { createFaceLandmarker } from '../face/landmarker';
import { trackFaces, usableMask, type FaceTrack } from '../face/track';
import { facialActivation } from '../face/activation';
import type { FeatureStore } from '../store/featureStore';

type EnergyCurves = { items: { clip: Clip; energyDb: Float32Array }[]; quarantine: QuarantinedItem[] };
const asCurve = (clip: Clip, f: LoadedAudioFeatures) => ({ clip, energyDb: f.energyDb! });

/** Frame energies (dB re full scale, 10 ms hop) of one clip's audio (lib/audio clipAudioFeatures). */
export async function energyCurve(clip: Clip): Promise<Float32Array> {
  return (await clipAudioFeatures(clip, { features: ['energy_db'], source: 'audio' })).energyDb!;
}

/** Energy curves of many clips' audio (lib/audio loadClipFeatures), with a progress line; failures go to `quarantine`. */
export function energyCurves(clips: Clip[], opts: { quiet?: boolean } = {}): Promise<EnergyCurves> {
  return loadClipFeatures(clips, { features: ['energy_db'], source: 'audio', stage: 'pseudo', label: 'energy curves', quiet: opts.quiet, accept: asCurve });
}

/** Face tracks of many clips' videos (one landmarker session reused), with progress; failures quarantined. */
export async function faceTracks(clips: Clip[], opts: { fps?: number; quiet?: boolean } = {}): Promise<{ items: { clip: Clip; track: FaceTrack }[]; quarantine: QuarantinedItem[] }> {
  const items: { clip: Clip; track: FaceTrack }[] = [];
  const quarantine: QuarantinedItem[] = [];
  const withVideo = clips.filter((c) => {
    if (c.videoPath) return true;
    quarantine.push({ file: c.audioPath ?? c.id, stage: 'pseudo', reason: 'no video' });
    return false;
  });
  if (withVideo.length === 0) return { items, quarantine };
  const session = await createFaceLandmarker();
  const bar = progress('face tracks', withVideo.length, { unit: 'clips', quiet: opts.quiet });
  try {
    for (const clip of withVideo) {
      try {
        items.push({ clip, track: await trackFaces(clip.videoPath!, { fps: opts.fps ?? 30, session }) });
      } catch (e) {
        quarantine.push({ file: clip.videoPath!, stage: 'pseudo', reason: errorMessage(e) });
      }
      bar.tick();
    }
  } finally {
    session.close();
    bar.done();
  }
  return { items, quarantine };
}

/** The face features of one clip as stored by lib/face in the feature store ("face" set). */
export interface StoredFace {
  nFrames: number;
  blendshapes: Float32Array;
  faceFound: Uint8Array;
  interpolated: Uint8Array;
  times: Float32Array;
  activation: Float32Array;
}

/** Energy curves (`energy_db`) of clips from a feature store; clips without them are quarantined. */
export function energyCurvesFromStore(store: FeatureStore, clips: Clip[]): Promise<EnergyCurves> {
  return loadClipFeatures(clips, { features: ['energy_db'], source: 'store', store, stage: 'pseudo', label: null, accept: asCurve });
}

/** Face features of clips from a feature store; clips without them are quarantined. */
export function facesFromStore(store: FeatureStore, clips: Clip[]): { items: { clip: Clip; face: StoredFace }[]; quarantine: QuarantinedItem[] } {
  const items: { clip: Clip; face: StoredFace }[] = [];
  const quarantine: QuarantinedItem[] = [];
  for (const clip of clips) {
    try {
      const get = (f: string) => store.get(clip.id, f);
      const bs = get('blendshapes');
      items.push({
        clip,
        face: {
          nFrames: bs.frames, blendshapes: bs.data, times: get('times').data, activation: get('activation').data,
          faceFound: Uint8Array.from(get('face_found').data), interpolated: Uint8Array.from(get('interpolated').data),
        },
      });
    } catch (e) {
      quarantine.push({ file: clip.videoPath ?? clip.id, stage: 'pseudo', reason: errorMessage(e) });
    }
  }
  return { items, quarantine };
}

/** The same fields from a live face track (activation computed by lib/face). */
export function storedFaceFromTrack(track: FaceTrack): StoredFace {
  const usable = usableMask(track);
  const act = facialActivation(track.landmarks, { width: track.width, height: track.height, times: track.times, valid: usable });
  return { nFrames: track.nFrames, blendshapes: track.blendshapes, faceFound: track.faceFound, interpolated: track.interpolated, times: Float32Array.from(track.times), activation: act.activation };
}
