/**
 * The standard audio feature set stored for every clip (lib/store): on the 25 ms / 10 ms Kaldi grid,
 * `fbank` [T, 80] Kaldi log-mel filterbank, `energy_db` [T, 1] RMS level in dBFS, `f0` [T, 1] YIN F0 in Hz
 * (0 = unvoiced) and `periodicity` [T, 1] YIN voicing strength in [0, 1].
 * Clips without audio, undecodable, or shorter than one 25 ms window are refused with an EmolabError, which
 * the store records in its quarantine list.
 */
import { join } from 'node:path';
import type { Clip } from '../data/types';
import { EmolabError } from '../errors';
import { repoRoot } from '../paths';
import type { FeatureSet } from '../store/featureStore';
import { decodeAudio } from './decode';
import { frameEnergyDb } from './energy';
import { kaldiFbank } from './kaldi';
import { featureMatrix, type FeatureMatrix } from './matrix';
import { yinPitch } from './pitch';

export interface AudioFeatureOptions {
  sampleRate?: number;   // 16000
  numMelBins?: number;   // 80
  fminHz?: number;       // 60
  fmaxHz?: number;       // 500
}

export interface AudioFeatures {
  fbank: FeatureMatrix;
  energy_db: FeatureMatrix;
  f0: FeatureMatrix;
  periodicity: FeatureMatrix;
}

/** All standard audio features of one decoded signal. Throws when it is shorter than one window. */
export function computeAudioFeatures(signal: Float32Array, opts: AudioFeatureOptions = {}, file?: string): AudioFeatures {
  const sampleRate = opts.sampleRate ?? 16000;
  const fbank = kaldiFbank(signal, { sampleRate, numMelBins: opts.numMelBins ?? 80 });
  if (fbank.frames === 0) {
    throw new EmolabError('audio', `clip is ${(1000 * signal.length / sampleRate).toFixed(1)} ms long, shorter than one 25 ms analysis window`, { file });
  }
  const energy = frameEnergyDb(signal, { sampleRate });
  const pitch = yinPitch(signal, { sampleRate, fminHz: opts.fminHz, fmaxHz: opts.fmaxHz });
  const T = fbank.frames;
  return {
    fbank,
    energy_db: featureMatrix(T, 1, energy),
    f0: featureMatrix(T, 1, pitch.f0),
    periodicity: featureMatrix(T, 1, pitch.periodicity),
  };
}

/** Feature-set factory (also called by worker threads through `ref`). */
export function audioFeatureSet(opts: AudioFeatureOptions = {}): FeatureSet {
  const params = { sampleRate: opts.sampleRate ?? 16000, numMelBins: opts.numMelBins ?? 80, fminHz: opts.fminHz ?? 60, fmaxHz: opts.fmaxHz ?? 500, frameLengthMs: 25, frameShiftMs: 10 };
  return {
    name: 'audio',
    version: '1',
    params,
    features: {
      fbank: { dims: params.numMelBins, description: 'Kaldi log-mel filterbank (torchaudio.compliance.kaldi.fbank, input x32768, dither 0)' },
      energy_db: { dims: 1, description: 'RMS level per frame, dB re full scale (floor -100)' },
      f0: { dims: 1, description: 'YIN F0 in Hz, 0 where unvoiced' },
      periodicity: { dims: 1, description: 'YIN periodicity 1 - CMND(best lag), 0..1' },
    },
    async extract(clip: Clip) {
      if (!clip.audioPath) throw new EmolabError('audio', `clip ${clip.id} has no audio file`, { file: clip.videoPath });
      const signal = await decodeAudio(clip.audioPath, { sampleRate: params.sampleRate });
      return { ...computeAudioFeatures(signal, opts, clip.audioPath) };
    },
    ref: { module: join(repoRoot, 'lib', 'audio', 'featureSet.ts'), exportName: 'audioFeatureSet', options: opts },
  };
}
