/**
 * Helpers for the SER experiment tests: a small EmoDB feature store (only `fbank`, a few clips per
 * speaker, computed with lib/audio's Kaldi fbank), so fine-tuning jobs and runSerExperiment run on
 * real audio in seconds, and the job clips of an SER fold restricted to those clips.
 */
import { decodeAudio } from '../../lib/audio/decode';
import { kaldiFbank } from '../../lib/audio/kaldi';
import type { Clip } from '../../lib/data/types';
import { emodbManifest } from '../../lib/data/emodb';
import type { JobClip } from '../../lib/finetune/jobWorker';
import { emodbProtocol, type SerFold } from '../../lib/finetune/protocols';
import { extractFeatures, type FeatureSet } from '../../lib/store/featureStore';

/** A feature set with only the 80-bin fbank (what fine-tuning reads): no pitch, so extraction is quick. */
export function fbankOnlySet(): FeatureSet {
  return {
    name: 'audio', version: 'test-fbank-1', params: { numMelBins: 80 },
    features: { fbank: { dims: 80, description: 'Kaldi log-mel filterbank (test store)' } },
    async extract(clip: Clip) {
      const fb = kaldiFbank(await decodeAudio(clip.audioPath!), { numMelBins: 80 });
      return { fbank: { data: fb.data, frames: fb.frames, dims: 80 } };
    },
  };
}

/** The first `perSpeaker` labelled clips (by id) of every EmoDB speaker, boredom dropped. */
export function fewEmodbClips(perSpeaker: number): Clip[] {
  const label = emodbProtocol().label;
  const bySpeaker = new Map<string, Clip[]>();
  for (const c of [...emodbManifest(undefined, { boredom: 'drop' }).clips].sort((a, b) => a.id.localeCompare(b.id))) {
    if (label(c) < 0 || !c.audioPath) continue;
    const l = bySpeaker.get(c.speaker) ?? [];
    if (l.length < perSpeaker) l.push(c);
    bySpeaker.set(c.speaker, l);
  }
  return [...bySpeaker.values()].flat();
}

/** Extract the fbank of those clips into `<storeDir>/audio/` (a lib/store feature store). */
export async function smallEmodbStore(storeDir: string, perSpeaker: number): Promise<Clip[]> {
  const clips = fewEmodbClips(perSpeaker);
  const manifest = { ...emodbManifest(undefined, { boredom: 'drop' }), clips };
  await extractFeatures({ manifest, dir: storeDir, set: fbankOnlySet(), workers: 1, shardSize: 64, quiet: true });
  return clips;
}

/** SER fold `i` of the EmoDB protocol, restricted to `clips`, as a fine-tuning job's clips. */
export function jobFold(i: number, clips: Clip[]): { name: string; train: JobClip[]; dev: JobClip[]; test: JobClip[]; classes: string[] } {
  const data = emodbProtocol();
  const keep = new Set(clips.map((c) => c.id));
  const f: SerFold = data.folds[i];
  const job = (cs: Clip[]): JobClip[] => cs.filter((c) => keep.has(c.id)).map((c) => ({ id: c.id, speaker: c.speaker, label: data.label(c), emotion: c.emotion ?? '' }));
  return { name: f.name, train: job(f.train), dev: job(f.dev), test: job(f.test), classes: [...data.classes] };
}
