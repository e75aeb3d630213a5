/**
 * Inputs of the labelers, read from media (the I/O edge of lib/pseudo): per-clip energy curves
 * from the audio (lib/audio: decodeAudio + frameEnergyDb, 25 ms windows every 10 ms). A clip that
 * cannot be decoded is quarantined with the reason and the others go on.
 */
import { decodeAudio } from '../audio/decode';
import { frameEnergyDb } from '../audio/energy';
import type { Clip, QuarantinedItem } from '../data/types';
import { errorMessage } from '../errors';
import { progress } from '../report/progress';

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
