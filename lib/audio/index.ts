/**
 * lib/audio — the speech front-end: decoding any media to 16 kHz mono float32 (pure-TS WAV reader, else
 * fluent-ffmpeg), Kaldi-compatible log-mel filterbank and MFCC (parity with torchaudio.compliance.kaldi),
 * per-frame energy (RMS dB), F0 and voicing (YIN), deltas, per-utterance and per-speaker mean/variance
 * normalisation, the standard per-clip audio feature set stored by lib/store, and the `emolab features` CLI.
 * Every frame-level feature uses the same 25 ms / 10 ms snip-edges grid, so row t always means the same samples.
 */
export { decodeAudio, decodeWithFfmpeg, parseWav, readWav, readF32, sanitizeSignal, signalStats } from './decode';
export type { DecodeOptions, WavData, SignalStats } from './decode';
export { type FeatureMatrix, featureMatrix, row, column, toRows } from './matrix';
export {
  kaldiFbank, kaldiMfcc, KaldiFbank, melBanks, dctMatrix, lifterCoefficients, windowFunction, frameGeometry, numFrames,
  melScale, inverseMelScale, nextPowerOfTwo, FLOAT32_EPS,
} from './kaldi';
export type { KaldiFbankOptions, KaldiMfccOptions, KaldiFrameOptions, WindowType, MelFilter, FrameGeometry } from './kaldi';
export { frameEnergyDb, kaldiLogEnergy } from './energy';
export type { EnergyOptions } from './energy';
export { yinPitch, decimate, lowpassTaps } from './pitch';
export type { YinOptions, PitchTrack } from './pitch';
export { deltas, withDeltas, meanVarStats, applyMeanVar, utteranceMvn, speakerStats, speakerMvn } from './normalize';
export type { MeanVarStats } from './normalize';
export { audioFeatureSet, computeAudioFeatures } from './featureSet';
export type { AudioFeatureOptions, AudioFeatures } from './featureSet';
export { clipProsody, withSpeakerF0 } from './prosody';
export type { ClipProsody, ProsodyInput } from './prosody';
export { clipFeaturesFigure, groupBoxFigure, melFilterbankFigure, waveformEnvelope } from './figures';
export type { ClipFigureInput } from './figures';
