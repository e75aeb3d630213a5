/**
 * lib/train — the training engine and the pretext-task runner.
 *
 * Owns: examples and length-bucketed batches (`batches`), losses and metrics per head kind
 * (`losses`), AdamW with decoupled weight decay and global-norm clipping (`adamw`), the warm-up +
 * decay schedule (`schedule`), safetensors checkpoints with optimizer state (`checkpoint`), the
 * training loop with early stopping and exact resume (`trainer`), pretraining on the pretext
 * tasks of Goncalves & Busso (`pretrain`; its targets and examples `pretextExamples`, its settings,
 * fingerprint and run.json `pretrainRun`; `cli`: `emolab pretrain`), utterance embeddings (`embeddings`), live training curves for
 * notebooks (`liveplot`), the pretext notebooks' figures and tables (`pretextFigures`), and a
 * training-step timer (`benchmark`, `emolab pretrain --bench`).
 */
export * from './batches';
export * from './losses';
export * from './adamw';
export * from './schedule';
export * from './checkpoint';
export * from './trainer';
export * from './pretextExamples';
export * from './pretrainRun';
export * from './pretrain';
export * from './embeddings';
export * from './liveplot';
export * from './pretextFigures';
export * from './benchmark';
