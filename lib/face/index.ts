/**
 * lib/face — the face front-end for pretext tasks 2 and 3: video frames → MediaPipe Face Landmarker
 * (in plain Node) → 478 landmarks + 52 blendshapes per frame → FACS action units and facial activation.
 *
 * - ./frames       streamed RGBA frames at a chosen rate via fluent-ffmpeg, with audio-aligned timestamps
 * - ./webgl2Shim   the software WebGL2 slice that lets tasks-vision 0.10.35 run without a browser
 * - ./landmarker   createFaceLandmarker(): VIDEO mode, CPU delegate, blendshapes; model checked by sha256
 * - ./track        trackFaces(video): largest face per frame, missing frames marked, short gaps interpolated
 * - ./aus          blendshapes → AU intensities and presence (documented mapping, per-AU thresholds)
 * - ./procrustes   similarity (Procrustes) alignment, 3-D (Horn quaternions) and 2-D
 * - ./activation   facialActivation(landmarks): rigid motion removed, inter-ocular units, upper/lower face
 * - ./features     per-video safetensors file and the "face" feature set of lib/store
 * - ./cli          `emolab features face <video> --out x.safetensors`
 */
export * from './frames';
export * from './webgl2Shim';
export * from './landmarker';
export * from './track';
export * from './aus';
export * from './procrustes';
export * from './activation';
export * from './features';
