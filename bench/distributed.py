#!/usr/bin/env python3
"""Data-parallel throughput (docs/distributed.md): a workload's training samples/s on one machine
as 1 rank of 1 thread, 1 rank of 2 threads and 2 ranks of 1 thread each (mpirun), and the time
each rank waited on the other after its backward passes (summary.json's communication_s_by_rank:
rank 0 waiting and rank 1 not means rank 1 is slower; both waiting, the reduction itself).

The workloads are BENCHMARKS.md's, as the recipes that train them: rowlstm_fmnist is
recipes/fashion_mnist/rows_lstm.json (LSTM(28, 128) over 28 rows, batch 64) and transformer_lm is
recipes/text/transformer.json (3 pre-LN layers, d 128, batch 32 x 128 characters; the bench's
transformer_lm has 2 layers). Throughput is the median of the train lines' samples_per_s after
the first (which holds the start-up), so the closing evaluation is not counted.

    /usr/bin/python3 bench/distributed.py --heed build/release/heed [--steps 400]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

WORKLOADS = {
    "rowlstm_fmnist": "recipes/fashion_mnist/rows_lstm.json",
    "transformer_lm": "recipes/text/transformer.json",
}
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]


def run(heed, recipe, out, ranks, threads, steps):
    cmd = [heed, "train", recipe, "--out", out,
           "--set", f"train.threads={threads}", "--set", f"train.max_steps={steps}",
           "--set", "train.log_interval=25", "--set", "train.eval_interval=0",
           "--set", "train.max_seconds=0", "--set", "data.max_test_samples=256"]
    env = dict(os.environ, OMPI_MCA_btl_vader_single_copy_mechanism="none")
    if ranks > 1:
        cmd = MPIRUN + ["-np", str(ranks)] + cmd
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lines = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
    rates = [l["samples_per_s"] for l in lines if l["kind"] == "train"][1:]
    summary = json.load(open(os.path.join(out, "summary.json")))
    waits = summary.get("communication_s_by_rank", [0.0])
    return statistics.median(rates), [w / max(1, summary["steps"]) * 1000 for w in waits]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heed", default="build/release/heed")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--workload", choices=sorted(WORKLOADS), action="append")
    args = parser.parse_args()
    print("| workload | 1 rank x 1 thread | 1 rank x 2 threads | 2 ranks x 1 thread | "
          "2 ranks / 1 x 2 | wait per step: rank 0, rank 1 |")
    print("|---|---|---|---|---|---|")
    for name in args.workload or sorted(WORKLOADS):
        with tempfile.TemporaryDirectory() as tmp:
            one, _ = run(args.heed, WORKLOADS[name], f"{tmp}/a", 1, 1, args.steps)
            two_threads, _ = run(args.heed, WORKLOADS[name], f"{tmp}/b", 1, 2, args.steps)
            two_ranks, wait = run(args.heed, WORKLOADS[name], f"{tmp}/c", 2, 1, args.steps)
        print(f"| {name} | {one:,.0f} | {two_threads:,.0f} | {two_ranks:,.0f} | "
              f"{two_ranks / two_threads:.2f} | {', '.join(f'{w:.2f}' for w in wait)} ms |",
              flush=True)


if __name__ == "__main__":
    main()
