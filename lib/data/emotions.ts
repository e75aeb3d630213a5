/**
 * Emotion names: each corpus spells its categories differently ("angry", "ANG", "W", "05");
 * everything is mapped here to the shared lower-case `Emotion` names of ./types.
 */
import type { Emotion } from './types';
import { SIX_EMOTIONS } from './types';

const ALIASES: Record<string, Emotion> = {
  anger: 'anger', angry: 'anger', ang: 'anger',
  disgust: 'disgust', disgusted: 'disgust', dis: 'disgust',
  fear: 'fear', fearful: 'fear', fea: 'fear', afraid: 'fear',
  happiness: 'happiness', happy: 'happiness', hap: 'happiness', joy: 'happiness',
  neutral: 'neutral', neu: 'neutral',
  sadness: 'sadness', sad: 'sadness',
  boredom: 'boredom', bored: 'boredom',
  surprise: 'surprise', surprised: 'surprise', sur: 'surprise',
  contempt: 'contempt',
  calm: 'calm',
};

/** The shared name for a corpus' emotion word or code (case-insensitive), or undefined if unknown. */
export function normalizeEmotion(raw: string): Emotion | undefined {
  return ALIASES[raw.trim().toLowerCase()];
}

/** True for the six CREMA-D classes (the SER label set). */
export function isSixClass(e: Emotion | undefined): boolean {
  return e !== undefined && SIX_EMOTIONS.includes(e);
}

/** Index of an emotion in SIX_EMOTIONS (the order of every SER head), or -1. */
export function sixClassIndex(e: Emotion | undefined): number {
  return e === undefined ? -1 : SIX_EMOTIONS.indexOf(e);
}
