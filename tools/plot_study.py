#!/usr/bin/python3
"""Draws the plots of a study that `heed compare` ran, from its report.json and the runs'
metrics.jsonl, into STUDY_DIR/plots/ (PNG); `heed compare` calls it and embeds the plots in
report.md and report.html.

    /usr/bin/python3 tools/plot_study.py STUDY_DIR

For each metric of the study and each grid point:
  dev_<metric>_vs_step.png   the dev metric against the training step, a line per variant (the
                             mean over seeds) in a band from the lowest to the highest seed
  dev_<metric>_vs_time.png   the same against wall time (seconds, minutes or hours), each seed's curve read on a
                             common grid up to the seed that stopped first
  test_<metric>.png          the test metric per variant: each seed a dot, the mean with its 95%
                             Student t interval
  attention_vs_step.png      for models with attention: the attention layers' mean entropy
                             (nats) and mean largest weight at each dev evaluation (the mean over
                             seeds), a line per variant and layer, or per variant (the mean of
                             its layers) when that would make more than 8 lines
  attention_map_<variant>.png  the attention of each variant (its first seed, dev-selected
                             weights) on the same dev example, from the `heed inspect` files
                             `heed compare` wrote to STUDY_DIR/inspect/ (tools/plot_inspection.py
                             draws them)
and, for a study whose grid has one numeric axis (a sequence length, a width):
  test_<metric>_vs_<axis>.png, time_vs_<axis>.png   metric and training time against the axis,
                             both on log axes where the values span a factor of 10 or more
Prints the files it wrote, one per line. Needs Debian's python3-matplotlib (and python3-h5py
for the attention maps).
"""

import argparse
import json
import os
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
except ImportError as e:
    sys.exit(f"plot_study: {e.name} is missing; install it with `tools/bootstrap.sh tools` "
             "(Debian's python3-matplotlib) and run /usr/bin/python3")


def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def dev_curves(study_dir, run_dir, metric):
    """(steps, seconds, values) of a run's dev evaluations that hold the metric."""
    evals = [e for e in read_lines(os.path.join(study_dir, run_dir, "metrics.jsonl"))
             if e.get("kind") == "eval" and e.get("split") == "dev" and metric in e]
    return (np.array([e["step"] for e in evals], dtype=float),
            np.array([e["elapsed_s"] for e in evals], dtype=float),
            np.array([e[metric] for e in evals], dtype=float))


def run_dir(variant, point, seed):
    return os.path.join(variant, point, f"seed-{seed}") if point else os.path.join(variant, f"seed-{seed}")


def suffix(point):
    return "" if not point["point"] else "_" + point["point"].replace("=", "-").replace(",", "_")


def title(report, point, text):
    where = f" ({point['point']})" if point["point"] else ""
    return f"{text}{where}"


def direction(report, metric):
    mode = next(m["mode"] for m in report["metrics"] if m["name"] == metric)
    return "lower is better" if mode == "min" else "higher is better"


def curves_plot(report, study_dir, point, metric, x_of, xlabel, name, out_dir):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    drawn = False
    for row in point["variants"]:
        curves = []
        for seed in row["seeds"]:
            steps, seconds, values = dev_curves(study_dir, run_dir(row["variant"], point["point"], seed), metric)
            if len(values):
                curves.append((x_of(steps, seconds), values))
        if not curves:
            continue
        end = min(x[-1] for x, _ in curves)
        grid = np.linspace(min(x[0] for x, _ in curves), end, 200) if end > 0 else np.array([end])
        ys = np.array([np.interp(grid, x, y) for x, y in curves])
        line, = ax.plot(grid, ys.mean(axis=0), label=f"{row['variant']} ({len(curves)} seeds)")
        if len(curves) > 1:
            ax.fill_between(grid, ys.min(axis=0), ys.max(axis=0), color=line.get_color(), alpha=0.2)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"dev {metric} ({direction(report, metric)})")
    ax.set_title(title(report, point, f"dev {metric}: mean over seeds, band from lowest to highest seed"))
    ax.grid(alpha=0.3)
    ax.legend()
    path = os.path.join(out_dir, f"{name}{suffix(point)}.png")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def attention_curves(study_dir, run_dir):
    """{layer: (steps, entropy, max_weight)} of a run's dev evaluations."""
    by_layer = {}
    for e in read_lines(os.path.join(study_dir, run_dir, "metrics.jsonl")):
        if e.get("kind") != "eval" or e.get("split") != "dev":
            continue
        for layer, a in e.get("attention", {}).items():
            by_layer.setdefault(layer, []).append((e["step"], a["entropy"], a["max_weight"]))
    return {layer: tuple(np.array(c, dtype=float).T) for layer, c in by_layer.items()}


def attention_plot(report, study_dir, point, out_dir):
    """Entropy and largest weight of the attention layers against the step, per variant: a line
    per layer when that makes few lines, else one per variant, the mean over its layers."""
    runs = {row["variant"]: [attention_curves(study_dir, run_dir(row["variant"], point["point"], seed))
                             for seed in row["seeds"]] for row in point["variants"]}
    layers = {v: sorted(set().union(*[set(s) for s in seeds])) for v, seeds in runs.items()}
    per_layer = sum(len(ls) for ls in layers.values()) <= 8
    lines = []  # (label, variant, [(steps, entropy, max_weight) of each seed and layer])
    for variant, seeds in runs.items():
        if per_layer:
            for layer in layers[variant]:
                label = variant if len(layers[variant]) == 1 else f"{variant}: {layer}"
                lines.append((label, [s[layer] for s in seeds if layer in s]))
        elif layers[variant]:
            n = len(layers[variant])
            lines.append((f"{variant}" + (f" (mean of {n} layers)" if n > 1 else ""),
                          [s[layer] for s in seeds for layer in layers[variant] if layer in s]))
    if not lines:
        return None
    fig, (ent, top) = plt.subplots(1, 2, figsize=(13, 4.8))
    colors = plt.get_cmap("tab20" if len(lines) > 10 else "tab10")
    for i, (label, curves) in enumerate(lines):
        end = min(c[0][-1] for c in curves)
        grid = np.linspace(min(c[0][0] for c in curves), end, 100) if end > 0 else np.array([end])
        for ax, k in ((ent, 1), (top, 2)):
            ys = np.array([np.interp(grid, c[0], c[k]) for c in curves]).mean(axis=0)
            ax.plot(grid, ys, color=colors(i % colors.N), label=label)
    ent.set_ylabel("mean entropy of a distribution (nats)")
    top.set_ylabel("mean largest weight")
    for ax in (ent, top):
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    top.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(title(report, point, "attention on dev: entropy and largest weight of the "
                                      "distributions over the keys (mean over seeds)"))
    path = os.path.join(out_dir, f"attention_vs_step{suffix(point)}.png")
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def attention_maps(study_dir, out_dir):
    """plot_inspection.py's drawing of each STUDY_DIR/inspect/<label>.h5's first example."""
    inspect_dir = os.path.join(study_dir, "inspect")
    files = sorted(f for f in os.listdir(inspect_dir) if f.endswith(".h5")) \
        if os.path.isdir(inspect_dir) else []
    if not files:
        return []
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import h5py
        import plot_inspection
    except ImportError as e:
        print(f"plot_study: no attention maps: {e.name} is missing (`tools/bootstrap.sh tools`)",
              file=sys.stderr)
        return []
    written = []
    for name in files:
        with h5py.File(os.path.join(inspect_dir, name), "r") as f:
            records = {r: f["records"][r][()] for r in f["records"]}
            path = os.path.join(out_dir, f"attention_map_{os.path.splitext(name)[0]}.png")
            written.append(plot_inspection.draw(f, records, 0, path))
    return written


def test_plot(report, point, metric, out_dir):
    rows = [r for r in point["variants"] if r["test"].get(metric)]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(rows) + 1.6))
    for i, row in enumerate(rows):
        d = row["test"][metric]
        ax.scatter(d["values"], [i] * len(d["values"]), color="gray", s=14, zorder=2,
                   label="a seed" if i == 0 else None)
        ax.plot([d["mean"]], [i], "o", color="C0", zorder=3, label="mean" if i == 0 else None)
        if "t_interval" in d:
            lo, hi = d["t_interval"]
            ax.plot([lo, hi], [i, i], color="C0", lw=2, zorder=1,
                    label="95% t interval of the mean" if i == 0 else None)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r["variant"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel(f"test {metric} ({direction(report, metric)})")
    ax.set_title(title(report, point, f"test {metric} at the dev-selected checkpoint"))
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize="small")
    path = os.path.join(out_dir, f"test_{metric}{suffix(point)}.png")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def axis_plots(report, metric, out_dir):
    """Metric and time against the grid's one numeric axis, a line per variant."""
    axes = report.get("grid", {})
    if len(axes) != 1:
        return []
    (path_key, values), = axes.items()
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return []
    name = path_key.split(".")[-1]
    by_value = {json.dumps(p["set"][path_key]): p for p in report["points"]}
    xs = sorted(values)
    written = []
    for what, label, get in [
            (f"test_{metric}", f"test {metric} ({direction(report, metric)})",
             lambda row: (row["test"].get(metric) or {}).get("mean")),
            ("time", "training time (s)", lambda row: (row.get("elapsed_s") or {}).get("mean"))]:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for variant in [v["variant"] for v in report["points"][0]["variants"]]:
            ys = []
            for x in xs:
                row = next(r for r in by_value[json.dumps(x)]["variants"] if r["variant"] == variant)
                ys.append(get(row))
            pts = [(x, y) for x, y in zip(xs, ys) if y is not None]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=variant)
        if min(xs) > 0 and max(xs) / min(xs) >= 10:
            ax.set_xscale("log")
            if what == "time":
                ax.set_yscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel(label)
        ax.set_title(f"{label.split(' (')[0]} against {name}, mean over seeds")
        ax.grid(alpha=0.3, which="both")
        ax.legend()
        path = os.path.join(out_dir, f"{what}_vs_{name}.png")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("study_dir")
    args = parser.parse_args()
    with open(os.path.join(args.study_dir, "report.json")) as f:
        report = json.load(f)
    out_dir = os.path.join(args.study_dir, "plots")
    os.makedirs(out_dir, exist_ok=True)
    longest = max([(row.get("elapsed_s") or {}).get("mean", 0)
                   for point in report["points"] for row in point["variants"]] + [0])
    unit, per = (("seconds", 1) if longest < 600 else
                 ("minutes", 60) if longest < 3 * 3600 else ("hours", 3600))
    written = []
    for m in report["metrics"]:
        metric = m["name"]
        for point in report["points"]:
            written.append(curves_plot(report, args.study_dir, point, metric,
                                       lambda steps, seconds: steps, "training step",
                                       f"dev_{metric}_vs_step", out_dir))
            written.append(curves_plot(report, args.study_dir, point, metric,
                                       lambda steps, seconds: seconds / per,
                                       f"wall time ({unit}, evaluations included)",
                                       f"dev_{metric}_vs_time", out_dir))
            written.append(test_plot(report, point, metric, out_dir))
        written.extend(axis_plots(report, metric, out_dir))
    for point in report["points"]:
        written.append(attention_plot(report, args.study_dir, point, out_dir))
    written.extend(attention_maps(args.study_dir, out_dir))
    for path in written:
        if path:
            print(path)


if __name__ == "__main__":
    main()
