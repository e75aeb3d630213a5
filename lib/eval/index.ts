/**
 * lib/eval — how SER results are scored: confusion matrices; macro precision/recall/F1
 * (Goncalves & Busso's columns), UA/WA (Li et al.'s), per-class recall; mean/std over seeds and
 * folds; seeded bootstrap confidence intervals; and the paired test (approximate randomization
 * over (seed, utterance) units, paired-bootstrap CI of the difference) of each pretrained arm
 * against the baseline. Pure functions, no tfjs.
 */
export * from './metrics';
export * from './stats';
export * from './aggregate';
