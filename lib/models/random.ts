/** Seeded randomness for models and training: one implementation, in lib/random.ts. */
export * from '../random';
