#!/usr/bin/python3
"""PyTorch reference for heed's benchmarks (workloads and protocol: shared/BENCHMARKS.md).

Run with Debian's interpreter and torch + libopenblas0-openmp:
    /usr/bin/python3 bench/pytorch_reference.py --workload rowlstm_fmnist --threads 2

stdout carries only JSON lines, one per measurement:
    {"workload", "impl": "pytorch", "threads", "step_ms_median", "throughput", "unit", "peak_rss_mb",
     "blas_core", "blas_gflops"}
where blas_core is the kernel OpenBLAS chose (openblas_get_corename: "Haswell" means AVX2 only, as
OPENBLAS_CORETYPE=Haswell forces; an AVX-512 machine at full speed says "SkylakeX" or "Cooperlake")
and blas_gflops the 1024^3 fp32 matmul measured at start, so that a handicapped peer shows in every
result line (BENCHMARKS.md).
plus "seq" on the scaling workloads' lines and "n", "pct_of_peak" on matmul_peak's. The scaling
workloads end with a line whose unit is "growth_exponent" (throughput = fitted exponent,
step_ms_median = null). Diagnostics go to stderr.
"""
import argparse
import ctypes
import json
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PEAK_GFLOPS_PER_CORE = 128.0  # BENCHMARKS.md: 2 FMA units x 16 lanes x 2 FLOP x 2.0 GHz
BLAS_MIN_GFLOPS = 100.0       # below this, torch is on netlib BLAS, not OpenBLAS
SEQS = [128, 256, 512, 1024, 2048]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def emit(args, step_ms, throughput, unit, **extra):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"workload": args.workload, "impl": "pytorch", "threads": args.threads,
                      "step_ms_median": None if step_ms is None else round(step_ms, 4),
                      "throughput": throughput, "unit": unit, "peak_rss_mb": round(rss, 1),
                      "blas_core": args.blas_core, "blas_gflops": args.blas_gflops,
                      **extra}), flush=True)


def measure(step, args):
    """Warm up, then time steps until both min_steps and min_seconds are reached; median ms."""
    for _ in range(args.warmup):
        step()
    times, start = [], time.perf_counter()
    while len(times) < args.min_steps or time.perf_counter() - start < args.min_seconds:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def blas_libraries():
    return sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.lower()})


def openblas_core():
    """The kernel OpenBLAS runs ("Haswell", "SkylakeX", ...), or None if torch is not on OpenBLAS."""
    for path in blas_libraries():
        if "openblas" in path:
            try:
                corename = ctypes.CDLL(path).openblas_get_corename
            except (OSError, AttributeError):
                continue
            corename.restype = ctypes.c_char_p
            return corename().decode()
    return None


def check_blas(gflops):
    blas = blas_libraries()
    log(f"[pytorch_reference] 1024^2 matmul {gflops:.1f} GFLOP/s; BLAS libs mapped: {blas}; "
        f"OpenBLAS core: {openblas_core()}")
    if gflops < BLAS_MIN_GFLOPS:
        why = ("OpenBLAS is loaded, so the machine is probably busy" if any("openblas" in b for b in blas)
               else "torch is not using OpenBLAS (apt-get install libopenblas0-openmp)")
        log(f"WARNING: 1024x1024 fp32 matmul at {gflops:.1f} GFLOP/s < {BLAS_MIN_GFLOPS:.0f} GFLOP/s "
            f"({why}): the PyTorch reference is NOT trustworthy.")


def quick_blas_gflops():
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    best = math.inf
    for i in range(12):
        t0 = time.perf_counter()
        torch.matmul(a, b)
        if i >= 2:
            best = min(best, time.perf_counter() - t0)
    return 2 * 1024**3 / best / 1e9


# ---- training workloads: each returns (module holding all parameters, loss(), items per step, unit)

def encoder(d, heads, ff, layers):
    layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.1, batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def lstm_lm():
    B, T, V = 32, 128, 96
    emb, lstm, head = nn.Embedding(V, 128), nn.LSTM(128, 256, num_layers=2, batch_first=True), nn.Linear(256, V)
    tok = torch.randint(V, (B, T + 1))

    def loss():
        h, _ = lstm(emb(tok[:, :-1]))
        return F.cross_entropy(head(h).reshape(-1, V), tok[:, 1:].reshape(-1))
    return nn.ModuleList([emb, lstm, head]), loss, B * T, "tokens/s"


def transformer_lm():
    B, T, V, D = 32, 128, 96, 128
    emb, pos, enc, head = nn.Embedding(V, D), nn.Embedding(T, D), encoder(D, 4, 512, 2), nn.Linear(D, V)
    tok = torch.randint(V, (B, T + 1))
    causal = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)

    def loss():
        h = enc(emb(tok[:, :-1]) + pos.weight, mask=causal)
        return F.cross_entropy(head(h).reshape(-1, V), tok[:, 1:].reshape(-1))
    return nn.ModuleList([emb, pos, enc, head]), loss, B * T, "tokens/s"


def cnn_fmnist():
    B = 64
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    x, y = torch.randn(B, 1, 28, 28), torch.randint(10, (B,))
    return model, lambda: F.cross_entropy(model(x), y), B, "images/s"


def rowlstm_fmnist():
    B = 64
    lstm, head = nn.LSTM(28, 128, batch_first=True), nn.Linear(128, 10)
    x, y = torch.randn(B, 28, 28), torch.randint(10, (B,))

    def loss():
        _, (h, _) = lstm(x)
        return F.cross_entropy(head(h[-1]), y)
    return nn.ModuleList([lstm, head]), loss, B, "images/s"


def rowattn_fmnist():
    B = 64
    proj, pos, enc, head = nn.Linear(28, 64), nn.Embedding(28, 64), encoder(64, 4, 128, 2), nn.Linear(64, 10)
    x, y = torch.randn(B, 28, 28), torch.randint(10, (B,))

    def loss():
        h = enc(proj(x) + pos.weight)
        return F.cross_entropy(head(h.mean(dim=1)), y)
    return nn.ModuleList([proj, pos, enc, head]), loss, B, "images/s"


def g2p(attention):
    """BiLSTM encoder -> LSTMCell decoder, teacher forcing; decoder starts from the encoder's
    final states (fwd||bwd). With attention: additive (Bahdanau) attention on the previous
    decoder state, context concatenated to the decoder input."""
    B, S, T, SV, TV, E, H, A = 64, 12, 12, 30, 45, 64, 128, 128
    src_emb, tgt_emb = nn.Embedding(SV, E), nn.Embedding(TV, E)
    enc = nn.LSTM(E, H, batch_first=True, bidirectional=True)
    dec = nn.LSTMCell(E + 2 * H if attention else E, 2 * H)
    head = nn.Linear(2 * H, TV)
    # Bahdanau et al. 2015, eq. 6 (appendix A.1.2): e = v^T tanh(W s + U h), no bias anywhere,
    # as heed's nn::AdditiveAttention.
    wq, wk, v = nn.Linear(2 * H, A, bias=False), nn.Linear(2 * H, A, bias=False), nn.Linear(A, 1, bias=False)
    mods = [src_emb, tgt_emb, enc, dec, head] + ([wq, wk, v] if attention else [])
    src = torch.randint(SV, (B, S))
    tgt = torch.randint(1, TV, (B, T + 1))
    tgt[:, 0] = 0  # BOS

    def loss():
        mem, (h, c) = enc(src_emb(src))                      # mem (B,S,2H); h,c (2,B,H)
        h, c = torch.cat([h[0], h[1]], 1), torch.cat([c[0], c[1]], 1)
        keys = wk(mem) if attention else None
        inp, outs = tgt_emb(tgt[:, :-1]), []
        for t in range(T):
            x = inp[:, t]
            if attention:
                scores = v(torch.tanh(keys + wq(h).unsqueeze(1))).squeeze(2)   # (B,S)
                ctx = torch.bmm(F.softmax(scores, 1).unsqueeze(1), mem).squeeze(1)
                x = torch.cat([x, ctx], 1)
            h, c = dec(x, (h, c))
            outs.append(h)
        return F.cross_entropy(head(torch.stack(outs, 1)).reshape(-1, TV), tgt[:, 1:].reshape(-1))
    return nn.ModuleList(mods), loss, B, "sequences/s"


def train(args, build):
    model, loss_fn, items, unit = build()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        loss_fn().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    ms = measure(step, args)
    emit(args, ms, round(items * 1e3 / ms, 2), unit, parameters=sum(p.numel() for p in model.parameters()))


# ---- attention scaling: forward + backward of attention alone, batch 8, 4 heads, head dim 32

def softmax_attention(q, k, v):
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1) @ v


def linear_attention(q, k, v, eps=1e-6):
    """Katharopoulos et al. 2020, non-causal, feature map elu(x) + 1."""
    q, k = F.elu(q) + 1, F.elu(k) + 1
    kv = k.transpose(-2, -1) @ v                                  # (B,H,D,D)
    z = 1 / (q @ k.sum(dim=-2).unsqueeze(-1) + eps)               # (B,H,S,1)
    return (q @ kv) * z


def scaling(args, attention):
    ms_by_seq = []
    for s in SEQS:
        q, k, v = (torch.randn(8, 4, s, 32, requires_grad=True) for _ in range(3))
        grad_out = torch.randn(8, 4, s, 32)

        def step():
            for t in (q, k, v):
                t.grad = None
            attention(q, k, v).backward(grad_out)
        ms = measure(step, args)
        ms_by_seq.append(ms)
        emit(args, ms, round(1e3 / ms, 3), "steps/s", seq=s)
    xs, ys = [math.log(s) for s in SEQS], [math.log(m) for m in ms_by_seq]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    emit(args, None, round(slope, 3), "growth_exponent", seqs=SEQS)


def matmul_peak(args):
    for n in (1024, 2048):
        a, b = torch.randn(n, n), torch.randn(n, n)
        ms = measure(lambda: torch.matmul(a, b), args)
        gflops = 2 * n**3 / ms / 1e6
        emit(args, ms, round(gflops, 1), "GFLOP/s", n=n,
             pct_of_peak=round(100 * gflops / (PEAK_GFLOPS_PER_CORE * args.threads), 1))


TRAINING = {"lstm_lm": lstm_lm, "transformer_lm": transformer_lm, "cnn_fmnist": cnn_fmnist,
            "rowlstm_fmnist": rowlstm_fmnist, "rowattn_fmnist": rowattn_fmnist,
            "g2p_attn": lambda: g2p(True), "g2p_noattn": lambda: g2p(False)}
SCALING = {"sdpa_scaling": softmax_attention, "linear_attn_scaling": linear_attention}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", required=True, choices=[*TRAINING, *SCALING, "matmul_peak"])
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--min-steps", type=int, default=20)
    ap.add_argument("--min-seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log(f"[pytorch_reference] torch {torch.__version__}, threads {torch.get_num_threads()}")
    args.blas_core, args.blas_gflops = openblas_core(), round(quick_blas_gflops(), 1)
    check_blas(args.blas_gflops)
    if args.workload == "matmul_peak":
        matmul_peak(args)
        return
    torch.manual_seed(args.seed)
    if args.workload in SCALING:
        scaling(args, SCALING[args.workload])
    else:
        train(args, TRAINING[args.workload])


if __name__ == "__main__":
    main()
