/**
 * The one clip record every corpus adapter produces and every later stage consumes.
 * (Contract shared by lib/data, lib/audio, lib/face, lib/pseudo, lib/train, lib/eval.)
 */

/** Emotion names used across corpora (lower-case English). */
export type Emotion =
  | 'anger' | 'disgust' | 'fear' | 'happiness' | 'neutral' | 'sadness'
  | 'boredom' | 'surprise' | 'contempt' | 'calm';

/** The six CREMA-D classes, in the order used for every SER head and table. */
export const SIX_EMOTIONS: readonly Emotion[] = ['anger', 'disgust', 'fear', 'happiness', 'neutral', 'sadness'] as const;

export interface PerceivedLabels {
  /** Hard label by plurality of votes (ties: undefined). */
  plurality?: Emotion;
  /** Hard label when more than half the raters agree (else undefined). */
  majority?: Emotion;
  /** Vote shares per emotion, summing to 1. */
  soft?: Partial<Record<Emotion, number>>;
  /** Number of raters. */
  raters?: number;
}

export interface Clip {
  /** Unique within the corpus, e.g. "1001_DFA_ANG_XX" or "03a01Fa". */
  id: string;
  corpus: string;
  speaker: string;
  sex?: 'F' | 'M';
  age?: number;
  /** Absolute paths. */
  audioPath?: string;
  videoPath?: string;
  /** The emotion the actor was asked to portray. */
  emotion?: Emotion;
  /** Crowd-perceived labels, when the corpus has them (CREMA-D). */
  perceived?: PerceivedLabels;
  /** Sentence / text id. */
  textId?: string;
  /** Seconds, when known from metadata or probing. */
  durationS?: number;
  /** Corpus-specific extras (intensity level, statement, repetition, ...). */
  extra?: Record<string, string>;
}

/** A clip rejected while building a manifest, with the reason; the manifest keeps every good clip. */
export interface QuarantinedItem {
  file: string;
  stage: string;
  reason: string;
}

export interface Manifest {
  corpus: string;
  root: string;
  clips: Clip[];
  quarantine: QuarantinedItem[];
}

export type SplitName = 'train' | 'dev' | 'test';

/** A speaker-independent split: clip ids per set (a speaker appears in one set only). */
export interface Split {
  name: string;
  train: string[];
  dev: string[];
  test: string[];
}
