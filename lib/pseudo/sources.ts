/**
 * Inputs of the labelers, read from media (the I/O edge of lib/pseudo): per-clip energy curves
 * from the audio (lib/audio: decodeAudio + frameEnergyDb, 25 ms windows every 10 ms) and face
 * tracks from the video (lib/face: trackFaces, MediaPipe Face Landmarker). A clip that cannot be
 * decoded is quarantined with the reason and the others go on.
 */
import { decodeAudio } from '../audio/decode';
import { frameEnergyDb } from '../audio/energy';
import type { Clip, QuarantinedItem } from '../data/types';
import { errorMessage } from '../errors';
import { progress } from '../report/progress';
import { createFaceLandmarker } from '../face/landmarker';
import { trackFaces, usableMask, type FaceTrack } from '../face/track';
import { facialActivation } from '../face/activation';
import type { FeatureStore } from '../store/featureStore';

/** Frame energies (dB re full scale, 10 ms hop) of one clip's audio. */
export async function energyCurve(clip: Clip): Promise<Float32Array> {
  if (!clip.audioPath) throw new Error(`clip ${clip.id} has no audio`);
  return frameEnergyDb(await decodeAudio(clip.audioPath));
}

/** Energy curves of many clips, with a progress line; failures go to `quarantine`. */
export async function energyCurves(clips: Clip[], opts: { quiet?: boolean } = {}): Promise<{ items: { clip: Clip; energyDb: Float32Array }[]; quarantine: QuarantinedItem[] }> {
  const items: { clip: Clip; energyDb: Float32Array }[] = [];
  const quarantine: QuarantinedItem[] = [];
  const bar = progress('energy curves', clips.length, { unit: 'clips', quiet: opts.quiet });
  for (const clip of clips) {
    try {
      items.push({ clip, energyDb: await energyCurve(clip) });
    } catch (e) {
      quarantine.push({ file: clip.audioPath ?? clip.id, stage: 'pseudo', reason: errorMessage(e) });
    }
    bar.tick();
  }
  bar.done();
  return { items, quarantine };
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
export function energyCurvesFromStore(store: FeatureStore, clips: Clip[]): { items: { clip: Clip; energyDb: Float32Array }[]; quarantine: QuarantinedItem[] } {
  const items: { clip: Clip; energyDb: Float32Array }[] = [];
  const quarantine: QuarantinedItem[] = [];
  for (const clip of clips) {
    try {
      items.push({ clip, energyDb: store.get(clip.id, 'energy_db').data });
    } catch (e) {
      quarantine.push({ file: clip.audioPath ?? clip.id, stage: 'pseudo', reason: errorMessage(e) });
    }
  }
  return { items, quarantine };
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
