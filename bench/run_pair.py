#!/usr/bin/python3
"""Run heed's benchmark binary and the PyTorch reference alternately (A B A B ...) and compare.

    /usr/bin/python3 bench/run_pair.py --heed build/release/heed_bench --workload rowlstm_fmnist --threads 2
    ... --pairs 5 -- --min-seconds 2      # arguments after "--" go to both programs

Both programs are run as `PROG --workload W --threads N [extra]` and print JSON lines
(see bench/pytorch_reference.py). Every raw line is echoed to stdout; a final summary line follows:
  training workloads: {"workload", "threads", "pairs", "ratio_median", "ratios", "heed_throughput_median",
                       "pytorch_throughput_median", "heed_peak_rss_mb", "pytorch_peak_rss_mb"}
      ratio = heed throughput / pytorch throughput, per pair, median over pairs (> 1: heed faster).
  scaling workloads:  the same, with "by_seq": [{"seq", "ratio_median" (pytorch ms / heed ms), "ratios",
                       "heed_ms_median", "pytorch_ms_median"}] and the growth exponents' medians.
  matmul_peak:        "by_n": [{"n", "ratio_median" (GFLOP/s ratio), "heed_gflops_median", ...}].
Every summary also names the PyTorch peer's OpenBLAS kernel ("pytorch_blas_core") and its 1024^3
matmul GFLOP/s ("pytorch_blas_gflops_median"); the peer runs with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed from its environment. Peak RSS is the maximum over each implementation's runs. Exit status 1 if no pair succeeded.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# Some machines set these, pinning OpenBLAS to its AVX2 kernels (~half speed on AVX-512): the
# PyTorch peer runs without them, at full speed (BENCHMARKS.md); heed does not read them.
HANDICAPS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def run(name, cmd, workload, timeout):
    """Run one benchmark process; return its JSON lines for `workload`, or None on failure."""
    env = {k: v for k, v in os.environ.items() if k not in HANDICAPS}
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=timeout, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        log(f"[run_pair] {name}: {e}")
        return None
    lines = []
    for raw in proc.stdout.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            log(f"[run_pair] {name}: ignoring non-JSON output: {raw[:200]}")
            continue
        if not isinstance(line, dict) or line.get("workload") != workload or "throughput" not in line:
            log(f"[run_pair] {name}: ignoring line: {raw[:200]}")
            continue
        print(json.dumps(line), flush=True)
        lines.append(line)
    if proc.returncode != 0 or not lines:
        log(f"[run_pair] {name}: exit status {proc.returncode}, {len(lines)} result line(s); run discarded")
        return None
    return lines


def key(line):
    """Which measurement a line is within a run: seq length, matrix size, exponent, or the only one."""
    if line.get("unit") == "growth_exponent":
        return "exponent"
    return line.get("seq", line.get("n"))


def median_of(pairs, k, impl, field):
    return round(statistics.median(run_[impl][k][field] for run_ in pairs), 4)


def summarize(args, pairs, rss):
    out = {"workload": args.workload, "threads": args.threads, "pairs": len(pairs)}
    keys = [k for k in pairs[0]["heed"] if all(k in p["heed"] and k in p["pytorch"] for p in pairs)]
    rows = []
    for k in keys:
        if k == "exponent":
            out["heed_exponent_median"] = median_of(pairs, k, "heed", "throughput")
            out["pytorch_exponent_median"] = median_of(pairs, k, "pytorch", "throughput")
            continue
        if isinstance(k, int) and args.workload.endswith("_scaling"):   # compare ms per step
            ratios = [p["pytorch"][k]["step_ms_median"] / p["heed"][k]["step_ms_median"] for p in pairs]
            row = {"seq": k, "heed_ms_median": median_of(pairs, k, "heed", "step_ms_median"),
                   "pytorch_ms_median": median_of(pairs, k, "pytorch", "step_ms_median")}
        else:
            ratios = [p["heed"][k]["throughput"] / p["pytorch"][k]["throughput"] for p in pairs]
            what = "gflops" if args.workload == "matmul_peak" else "throughput"
            row = {f"heed_{what}_median": median_of(pairs, k, "heed", "throughput"),
                   f"pytorch_{what}_median": median_of(pairs, k, "pytorch", "throughput")}
            if k is not None:
                row = {"n": k, **row}
        row["ratio_median"] = round(statistics.median(ratios), 4)
        row["ratios"] = [round(r, 4) for r in ratios]
        rows.append(row)
    if keys == [None]:
        row = rows[0]
        out.update(ratio_median=row["ratio_median"], ratios=row["ratios"],
                   heed_throughput_median=row["heed_throughput_median"],
                   pytorch_throughput_median=row["pytorch_throughput_median"])
    else:
        out["by_seq" if args.workload.endswith("_scaling") else "by_n"] = rows
    out["heed_peak_rss_mb"] = max(rss["heed"])
    out["pytorch_peak_rss_mb"] = max(rss["pytorch"])
    peer = [line for p in pairs for line in p["pytorch"].values()]
    out["pytorch_blas_core"] = sorted({str(line.get("blas_core")) for line in peer})
    out["pytorch_blas_gflops_median"] = statistics.median(line.get("blas_gflops", 0) for line in peer)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heed", required=True, help="heed benchmark binary")
    ap.add_argument("--workload", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--python", default="/usr/bin/python3", help="interpreter for the PyTorch reference")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds allowed per run")
    ap.add_argument("extra", nargs="*", help="after --: extra arguments passed to both programs")
    args = ap.parse_args()

    heed = os.path.abspath(args.heed)
    if not (os.path.isfile(heed) and os.access(heed, os.X_OK)):
        sys.exit(f"[run_pair] heed binary {args.heed!r} not found or not executable (build it first)")
    common = ["--workload", args.workload, "--threads", str(args.threads), *args.extra]
    cmds = {"heed": [heed, *common],
            "pytorch": [args.python, os.path.join(HERE, "pytorch_reference.py"), *common]}

    pairs, rss = [], {"heed": [], "pytorch": []}
    for i in range(args.pairs):
        result = {}
        for impl in ("heed", "pytorch"):                       # A B, A B, ...
            log(f"[run_pair] pair {i + 1}/{args.pairs}: {impl}")
            lines = run(impl, cmds[impl], args.workload, args.timeout)
            if lines is None:
                break
            if any(l.get("impl") != impl for l in lines):
                log(f"[run_pair] {impl}: warning: line with impl != {impl!r}")
            result[impl] = {key(l): l for l in lines}
            rss[impl].append(max(l.get("peak_rss_mb", 0) for l in lines))
        if len(result) == 2:
            pairs.append(result)
        else:
            log(f"[run_pair] pair {i + 1} dropped")
    if not pairs:
        sys.exit("[run_pair] no complete pair; nothing to compare")
    if len(pairs) < 5:
        log(f"[run_pair] warning: only {len(pairs)} pair(s); BENCHMARKS.md asks for at least 5")
    print(json.dumps(summarize(args, pairs, rss)), flush=True)


if __name__ == "__main__":
    main()
