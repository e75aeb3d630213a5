"""PyTorch reference for bench/train.ts: the same models, inputs shapes, losses and optimizer steps.

usage: /usr/bin/python3 bench/reference_torch.py '<json job>'
  job = {"spec": <CaseSpec from bench/train.ts>, "threads": n, "steps": N, "warmup": W, "device": "cpu"|"cuda"}
Prints one JSON object (last line): median/min ms per training step, forward ms, samples/s, params, peak RSS.

Models (mirroring lib/models op for op, idiomatic torch modules where they exist):
- tiny / base: conv1d blocks ('same' padding, stride s) + LayerNorm + exact GELU with frame masks; linear
  projection + sinusoidal positions + dropout; pre-LN Transformer (q/k/v/o linears, masked softmax, FF with
  GELU, dropout after attention and FF); final LayerNorm; attention pooling (tanh(W h + b) . v, masked
  softmax over time); linear to 6 classes; cross-entropy; clip_grad_norm_(1); AdamW(wd 0.01 on weights).
- hubert-base: transformers' HubertModel structure (7 convs without bias, GroupNorm(512, 512) after the
  first, GELU; LayerNorm + linear projection; weight-normed grouped positional conv (k 128, 16 groups,
  last frame dropped) + GELU; post-LN layers with attention and hidden dropout 0.1); mean pooling; linear 6.
- issue-ref: conv1d 80->256 k5 + ReLU, conv1d 256->256 k5 + ReLU, attention pooling (v . tanh(h)), linear 6;
  Adam (no weight decay, no clipping).
One step = zero_grad, forward, backward, (clip), optimizer.step() (skipped when spec.update is false: hubert-base
is forward + backward only); on CUDA each step ends with a synchronize.
"""
import json
import os
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MASK_NEG = -1e9


def same_pads(k):
    total = k - 1
    return total // 2, total - total // 2


class ConvBlock(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, k, stride)
        self.ln = nn.LayerNorm(cout, eps=1e-5)
        self.k, self.stride = k, stride

    def forward(self, h):  # h [B, T, C]
        l, r = same_pads(self.k)
        t = h.shape[1]
        t_out = math.ceil(t / self.stride)
        need = (self.k - 1) + t_out * self.stride
        extra = max(0, need - (t + l + r))
        y = self.conv(F.pad(h.transpose(1, 2), (l, r + extra)))[:, :, :t_out]
        return y.transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, d, heads, attn_dropout=0.0):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.h, self.drop = heads, attn_dropout

    def forward(self, x, key_mask=None):
        b, t, d = x.shape
        dh = d // self.h
        split = lambda y: y.view(b, t, self.h, dh).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
        if key_mask is not None:
            m = key_mask.view(b, 1, 1, t)
            attn = torch.softmax(scores + (1 - m) * MASK_NEG, -1) * m
        else:
            attn = torch.softmax(scores, -1)
        attn = F.dropout(attn, self.drop, self.training)
        ctx = (attn @ v).transpose(1, 2).reshape(b, t, d)
        return self.o(ctx)


class AttentionPool(nn.Module):
    def __init__(self, d, hidden=True):
        super().__init__()
        self.hidden = nn.Linear(d, d) if hidden else None
        self.score = nn.Linear(d, 1, bias=False)

    def forward(self, h, mask=None):
        hid = torch.tanh(self.hidden(h) if self.hidden is not None else h)
        e = self.score(hid).squeeze(-1)
        if mask is not None:
            alpha = torch.softmax(e + (1 - mask) * MASK_NEG, -1) * mask
        else:
            alpha = torch.softmax(e, -1)
        return (h * alpha.unsqueeze(-1)).sum(1)


def sinusoid(t, d):
    pos = torch.zeros(t, d)
    p = torch.arange(t, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(0, d, 2, dtype=torch.float64)
    angle = p / torch.pow(10000.0, i / d)
    pos[:, 0::2] = torch.sin(angle).float()
    pos[:, 1::2] = torch.cos(angle[:, : d // 2]).float()
    return pos


class EncoderModel(nn.Module):
    def __init__(self, cfg, classes):
        super().__init__()
        cin = cfg["inputDim"]
        blocks = []
        for cout, s in zip(cfg["convChannels"], cfg["convStrides"]):
            blocks.append(ConvBlock(cin, cout, cfg["convKernel"], s))
            cin = cout
        self.conv = nn.ModuleList(blocks)
        d = cfg["dModel"]
        self.proj = nn.Linear(cin, d)
        self.layers = nn.ModuleList()
        for _ in range(cfg["numLayers"]):
            self.layers.append(nn.ModuleDict({
                "ln1": nn.LayerNorm(d), "att": Attention(d, cfg["numHeads"]), "ln2": nn.LayerNorm(d),
                "ff1": nn.Linear(d, cfg["ffDim"]), "ff2": nn.Linear(cfg["ffDim"], d)}))
        self.ln_out = nn.LayerNorm(d)
        self.pool = AttentionPool(d)
        self.out = nn.Linear(d, classes)
        self.p, self.d = cfg["dropout"], d

    def forward(self, x, lengths):
        b, t, _ = x.shape
        mask = (torch.arange(t, device=x.device).unsqueeze(0) < lengths.unsqueeze(1)).float()
        h = x * mask.unsqueeze(2)
        for blk in self.conv:
            h = blk(h)
            lengths = torch.div(lengths + blk.stride - 1, blk.stride, rounding_mode="floor")
            mask = (torch.arange(h.shape[1], device=x.device).unsqueeze(0) < lengths.unsqueeze(1)).float()
            h = F.gelu(blk.ln(h)) * mask.unsqueeze(2)
        h = self.proj(h) + sinusoid(h.shape[1], self.d).to(x.device).unsqueeze(0)
        h = F.dropout(h, self.p, self.training)
        for L in self.layers:
            h = h + F.dropout(L["att"](L["ln1"](h), mask), self.p, self.training)
            h = h + F.dropout(L["ff2"](F.gelu(L["ff1"](L["ln2"](h)))), self.p, self.training)
        h = self.ln_out(h) * mask.unsqueeze(2)
        return self.out(self.pool(h, mask))


class HubertModel(nn.Module):
    def __init__(self, c, classes):
        super().__init__()
        convs, cin = [], 1
        for cout, k, s in zip(c["convDim"], c["convKernel"], c["convStride"]):
            convs.append(nn.Conv1d(cin, cout, k, s, bias=c["convBias"]))
            cin = cout
        self.convs = nn.ModuleList(convs)
        self.gn = nn.GroupNorm(c["convDim"][0], c["convDim"][0], affine=True)
        h = c["hiddenSize"]
        self.fp_ln = nn.LayerNorm(cin, eps=c["layerNormEps"])
        self.fp = nn.Linear(cin, h)
        k = c["numConvPosEmbeddings"]
        self.pos = nn.utils.weight_norm(nn.Conv1d(h, h, k, padding=k // 2, groups=c["numConvPosEmbeddingGroups"]), name="weight", dim=2)
        self.pos_k = k
        self.enc_ln = nn.LayerNorm(h, eps=c["layerNormEps"])
        self.layers = nn.ModuleList()
        for _ in range(c["numHiddenLayers"]):
            self.layers.append(nn.ModuleDict({
                "att": Attention(h, c["numAttentionHeads"], c["attentionDropout"]), "ln": nn.LayerNorm(h, eps=c["layerNormEps"]),
                "ff1": nn.Linear(h, c["intermediateSize"]), "ff2": nn.Linear(c["intermediateSize"], h),
                "fln": nn.LayerNorm(h, eps=c["layerNormEps"])}))
        self.out = nn.Linear(h, classes)
        self.c = c

    def forward(self, audio):
        c, tr = self.c, self.training
        x = audio.unsqueeze(1)
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if i == 0:
                x = self.gn(x)
            x = F.gelu(x)
        h = self.fp(self.fp_ln(x.transpose(1, 2)))
        h = F.dropout(h, c["featProjDropout"], tr)
        p = self.pos(h.transpose(1, 2))
        if self.pos_k % 2 == 0:
            p = p[:, :, :-1]
        h = h + F.gelu(p).transpose(1, 2)
        h = F.dropout(self.enc_ln(h), c["hiddenDropout"], tr)
        for L in self.layers:
            h = L["ln"](h + F.dropout(L["att"](h), c["hiddenDropout"], tr))
            ff = F.dropout(F.gelu(L["ff1"](h)), c["activationDropout"], tr)
            ff = F.dropout(L["ff2"](ff), c["hiddenDropout"], tr)
            h = L["fln"](h + ff)
        return self.out(h.mean(1))


class IssueRef(nn.Module):
    def __init__(self, s):
        super().__init__()
        l, r = same_pads(s["kernel"])
        assert l == r
        self.c1 = nn.Conv1d(s["inputDim"], s["channels"], s["kernel"], padding=l)
        self.c2 = nn.Conv1d(s["channels"], s["channels"], s["kernel"], padding=l)
        self.pool = AttentionPool(s["channels"], hidden=False)
        self.out = nn.Linear(s["channels"], s["classes"])

    def forward(self, x):  # [B, T, 80]
        h = F.relu(self.c2(F.relu(self.c1(x.transpose(1, 2))))).transpose(1, 2)
        return self.out(self.pool(h))


def build(spec, device):
    g = torch.Generator().manual_seed(11)
    b, classes = spec["batch"], spec["classes"]
    y = torch.randint(0, classes, (b,), generator=g).to(device)
    preset = spec["preset"]
    if preset in ("tiny", "base"):
        model = EncoderModel(spec["encoder"], classes)
        x = torch.randn(b, spec["frames"], spec["encoder"]["inputDim"], generator=g).to(device)
        lengths = torch.full((b,), spec["frames"], dtype=torch.long, device=device)
        fwd = lambda m: m(x, lengths)
    elif preset == "hubert-base":
        model = HubertModel(spec["hubert"], classes)
        x = torch.randn(b, spec["samples"], generator=g).to(device)
        fwd = lambda m: m(x)
    elif preset == "issue-ref":
        model = IssueRef(spec)
        x = torch.randn(b, spec["frames"], spec["inputDim"], generator=g).to(device)
        fwd = lambda m: m(x)
    else:
        raise SystemExit(f"reference_torch.py: unknown preset {preset!r}")
    model = model.to(device)
    wd = spec["weightDecay"]
    if wd > 0:
        decay = [p for n, p in model.named_parameters() if p.dim() > 1]
        no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=spec["lr"], betas=(0.9, 0.999), eps=1e-8)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=spec["lr"], betas=(0.9, 0.999), eps=1e-8)
    return model, fwd, y, opt


def main():
    job = json.loads(sys.argv[1])
    spec, device = job["spec"], job.get("device", "cpu")
    torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    model, fwd, y, opt = build(spec, device)
    sync = (lambda: torch.cuda.synchronize()) if device.startswith("cuda") else (lambda: None)

    def step():
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(fwd(model), y)
        loss.backward()
        if spec["clip"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), spec["clip"])
        if spec.get("update", True):
            opt.step()
        sync()
        return loss.item()

    losses = [step() for _ in range(job["warmup"])]
    ms, cpu_ms = [], []
    for _ in range(job["steps"]):
        t0, c0 = time.perf_counter(), time.process_time()
        losses.append(step())
        ms.append((time.perf_counter() - t0) * 1000)
        cpu_ms.append((time.process_time() - c0) * 1000)
    model.eval()
    fwd_ms = []
    with torch.no_grad():
        for _ in range(max(1, min(job["steps"], 5))):
            t0 = time.perf_counter()
            F.cross_entropy(fwd(model), y).item()
            sync()
            fwd_ms.append((time.perf_counter() - t0) * 1000)
    med = statistics.median(ms)
    print(json.dumps({
        "preset": spec["preset"], "threads": torch.get_num_threads(), "device": device,
        "ms_median": med, "ms_min": min(ms), "ms_all": [round(v, 2) for v in ms],
        "cpu_ms_median": statistics.median(cpu_ms), "forward_ms_median": statistics.median(fwd_ms), "samples_per_s": spec["batch"] / (med / 1000),
        "params": sum(p.numel() for p in model.parameters()),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "loss_first": losses[0], "loss_last": losses[-1], "torch": torch.__version__,
        "blas_libraries": blas_libraries(),
    }))


def blas_libraries():
    """The BLAS shared libraries this process has mapped (which libblas.so.3 torch really uses)."""
    seen = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                if ("blas" in path or "mkl" in path) and path not in seen:
                    seen.append(os.path.realpath(path) if os.path.exists(path) else path)
    except OSError:
        return ["unknown (/proc/self/maps unreadable)"]
    return sorted(set(seen))


if __name__ == "__main__":
    main()
