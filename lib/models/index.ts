/**
 * lib/models — speech models in plain tfjs ops that train on every backend (wasm and cpu included).
 *
 * Owns: reusable building blocks (`layers`: im2col conv1d, tf.moments layer norm, masked multi-head
 * attention, GELU, dense, masked softmax, attention/mean/span pooling, seeded parameters; the seeded
 * randomness is lib/random), the convolution + Transformer speech encoder with its presets (`encoder`),
 * and the heads and the model that bundles them (`heads`). PCA for looking at embeddings is lib/show/pca.
 * HuBERT (`hubert*.ts`) lives here too, written by its own stage, and reuses `layers`.
 */
export * from './layers';
export * from './encoder';
export * from './heads';
export * from './memory';
