/**
 * Seeded, backend-independent randomness, one implementation for the whole project: splits
 * (lib/data), resampling (lib/eval), model initialisation and training (lib/models, lib/train).
 *
 * Every random draw in lib/models and lib/train comes from a stream keyed by integers — typically
 * `(seed, step, purpose)` — so that a run resumed from a checkpoint at step k draws exactly what the
 * uninterrupted run drew at step k, whatever happened before. Numbers are produced in JavaScript
 * (not by a tfjs kernel), so initial weights are bit-identical on every backend.
 */

/** Mix integers into one 32-bit seed (splitmix-style avalanche of each part). Pure. */
export function deriveSeed(...parts: number[]): number {
  let h = 0x9e3779b9 >>> 0;
  for (const p of parts) {
    // Fold in both 32-bit halves so seeds and steps beyond 2^32 stay distinct.
    const lo = p >>> 0;
    const hi = Math.floor(p / 0x100000000) >>> 0;
    for (const v of [lo, hi]) {
      h = Math.imul(h ^ v, 0x85ebca6b) >>> 0;
      h = (h ^ (h >>> 13)) >>> 0;
      h = Math.imul(h, 0xc2b2ae35) >>> 0;
      h = (h ^ (h >>> 16)) >>> 0;
    }
  }
  return h >>> 0;
}

/** A small, fast PRNG (mulberry32) with helpers. Deterministic for a given seed. */
export class Rng {
  private state: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const s = this.spareNormal;
      this.spareNormal = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle, in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

/** Uniform numbers in [0, 1) from mulberry32 seeded with `seed`: same seed, same stream, on every machine. */
export function seededRandom(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}
