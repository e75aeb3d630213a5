/**
 * Learning-rate schedule: linear warm-up from 0 to `peak` over `warmupSteps`, then cosine or linear
 * decay to `peak * minRatio` at `totalSteps` (or constant). Pure: the rate is a function of the
 * step only, so a resumed run uses exactly the rates of an uninterrupted one.
 */
export type DecayKind = 'cosine' | 'linear' | 'constant';

export interface ScheduleOptions {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  decay?: DecayKind;
  /** Final rate as a fraction of the peak (default 0.05). */
  minRatio?: number;
}

/** Learning rate for update number `step` (0-based). */
export function learningRate(step: number, o: ScheduleOptions): number {
  const minRatio = o.minRatio ?? 0.05;
  if (o.warmupSteps > 0 && step < o.warmupSteps) return (o.peak * (step + 1)) / o.warmupSteps;
  const decay = o.decay ?? 'cosine';
  if (decay === 'constant') return o.peak;
  const span = Math.max(1, o.totalSteps - o.warmupSteps);
  const p = Math.min(1, Math.max(0, (step - o.warmupSteps) / span));
  const f = decay === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * p)) : 1 - p;
  return o.peak * (minRatio + (1 - minRatio) * f);
}
