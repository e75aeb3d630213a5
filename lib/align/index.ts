/**
 * lib/align — frame-level emotional state alignment (HFLEA; Li et al., ICASSP 2024) on the tfjs
 * HuBERT of lib/models/hubert: (a) fine-tune for SER, (b) k-means of layer-9 frame embeddings into
 * frame pseudo-emotion labels (lib/pseudo/kmeans), (c) continued masked-prediction pretraining on
 * them, (d) fine-tune with soft-attention pooling. Speaker-independent throughout: test speakers
 * are only ever evaluated.
 *
 * Owns: span masking (`masking`), the masked-prediction head and loss (`pretrain`), the four steps
 * and their defaults for HuBERT Base and a tiny from-scratch model (`hflea`), clip loading (`data`),
 * result figures (`figures`) and the EmoDB experiment with its result table (`experiment`).
 */
export * from './masking';
export * from './maskedPrediction';
export * from './hflea';
export * from './data';
export * from './figures';
export * from './experiment';
export * from './tapt';
