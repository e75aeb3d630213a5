"""Reference timing for bench/audio.ts: torchaudio's Kaldi fbank on the same files, same machine, same run.

usage: /usr/bin/python3 bench/audio_torch.py <threads> <file list (one path per line)>
Prints one JSON object: decode and fbank wall seconds, CPU seconds, audio seconds, frames, versions.
Decoding uses the standard-library wave module + numpy (the files are 16 kHz PCM16), the fastest way to
feed torchaudio here; fbank is torchaudio.compliance.kaldi.fbank(x * 32768, num_mel_bins=80, dither=0).
"""
import json
import sys
import time
import wave

import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi


def main() -> None:
    threads = int(sys.argv[1])
    files = [l.strip() for l in open(sys.argv[2]) if l.strip()]
    torch.set_num_threads(threads)
    # warm-up (first call allocates / JITs kernels)
    kaldi.fbank(torch.zeros(1, 16000), num_mel_bins=80, dither=0.0)
    c0 = time.process_time()  # CPU seconds of all threads of this process
    t0 = time.perf_counter()
    signals = []
    for f in files:
        with wave.open(f, "rb") as w:
            assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2, f
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
        signals.append(torch.from_numpy(x))
    t1 = time.perf_counter()
    frames = 0
    with torch.inference_mode():
        for x in signals:
            fb = kaldi.fbank((x * 32768.0).unsqueeze(0), num_mel_bins=80, frame_length=25.0, frame_shift=10.0,
                             dither=0.0, window_type="povey", use_energy=False)
            frames += fb.shape[0]
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    audio_s = sum(len(x) for x in signals) / 16000.0
    print(json.dumps({"threads": threads, "files": len(files), "audio_s": audio_s, "frames": frames,
                      "decode_s": t1 - t0, "fbank_s": t2 - t1, "total_s": t2 - t0, "cpu_s": cpu,
                      "torch": torch.__version__, "torchaudio": torchaudio.__version__}))


if __name__ == "__main__":
    main()
