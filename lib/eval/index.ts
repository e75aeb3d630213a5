/**
 * lib/eval — how SER results are scored: confusion matrices; macro precision/recall/F1
 * (Goncalves & Busso's columns), UA/WA (Li et al.'s), per-class recall; mean/std over seeds and
 * folds; seed-ensembled predictions (`ensemble`); speaker-level cluster-bootstrap confidence
 * intervals; and the paired test of each arm against the baseline (randomization over test
 * SPEAKERS, exact when 2^speakers <= 4096, paired cluster-bootstrap CI of the difference, smallest
 * detectable difference; seed-to-seed noise floor). Pure functions, no tfjs.
 */
export * from './metrics';
export * from './stats';
export * from './aggregate';
export * from './ensemble';
