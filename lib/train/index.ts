/**
 * lib/train — the training engine and the pretext-task runner.
 *
 * Owns: examples and length-bucketed batches (`batches`), losses and metrics per head kind
 * (`losses`), AdamW with decoupled weight decay and global-norm clipping (`adamw`), the warm-up +
 * decay schedule (`schedule`), safetensors checkpoints with optimizer state (`checkpoint`), the
 * one step loop of every gradient-trained stage (`loop`: AdamW updates, best epoch, early stopping,
 * checkpoint stores, exact resume; HFLEA's stages in lib/align use it too), the trainer of
 * multi-head speech models on it (`trainer`: batches, losses, dev evaluation; its checkpoint format
 * and epoch records `trainerCheckpoint`;
 * data-parallel replicas `dataParallel`), pretraining on the pretext
 * tasks of Goncalves & Busso (`pretrain`; its targets and examples `pretextExamples`, its settings,
 * fingerprint and run.json `pretrainRun`; `cli`: `emolab pretrain`), utterance embeddings (`embeddings`), live training curves for
 * notebooks (`curveFigures`), the pretext notebooks' figures and tables (`pretextFigures`), and a
 * training-step timer (`benchmark`, `emolab pretrain --bench`).
 */
export * from './batches';
export * from './losses';
export * from './adamw';
export * from './schedule';
export * from './checkpoint';
export * from './loop';
export * from './trainer';
export * from './pretextExamples';
export * from './pretrainRun';
export * from './pretrain';
export * from './embeddings';
export * from './curveFigures';
export * from './pretextFigures';
export * from './benchmark';
