/**
 * lib/finetune — SER fine-tuning for the pretext-task experiments: the encoder with an
 * attention-pooling head on six emotions, from scratch (baseline) and from each pretrained encoder
 * (task 1 energy, 2 facial activation, 3 AU emotions, all), same budget and seeds for all arms;
 * frozen-encoder and full fine-tuning; class-balanced sampling; EmoDB speaker-independent folds
 * and the CREMA-D partitions. Test speakers are kept out of pretraining too: encoders pretrained on
 * the SER corpus itself (task 1 on EmoDB) are pretrained once per fold without the fold's test
 * speakers (./foldPretraining), and the encoder lookup (./encoderLookup) refuses any encoder whose
 * run.json shows it heard them. One model is trained by ./finetuneFold; ./experiment runs a whole
 * experiment; failed models go to failures.json (./failures). One JSON record per trained model under runs/ser/ (./results), read
 * back by lib/report/ser.ts without retraining.
 */
export * from './results';
export * from './finetuneFold';
export * from './protocols';
export * from './experiment';
export * from './encoderLookup';
export * from './foldPretraining';
export * from './failures';
export * from './functionals';
export * from './logReg';
