#!/usr/bin/python3
"""Draws what `heed inspect` recorded: one PNG per example with its input, the predicted and
true class, and every attention record as heat maps (one panel per head). For token data (the
file has /input_vocab: seq2seq, language models) each attention map is labelled with the tokens:
a seq2seq decoder's attention as output steps (the target's tokens, rows) x input tokens
(columns), so a G2P model's map shows which letters each phoneme was read from.

    /usr/bin/python3 tools/plot_inspection.py RUN_DIR/inspect_test.h5 [--out DIR] [--samples N]

Needs Debian's python3-h5py and python3-matplotlib (`tools/bootstrap.sh tools` installs them).
The file layout is in docs/inspect.md. Record shapes, batch first:
  [batch, heads, query, key]  attention weights   -> one heat map per head (rows: queries)
  [batch, channels]           channel weights (SE) -> a bar chart
  [batch, 1, H, W]            spatial map (CBAM)   -> an image
  [batch, classes]            "logits"             -> the predicted class in the title
Prints the files it wrote, one per line.
"""

import argparse
import json
import os
import re
import sys

try:
    import h5py
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
except ImportError as e:
    sys.exit(f"plot_inspection: {e.name} is missing; install it with `tools/bootstrap.sh tools` "
             "(Debian's python3-h5py and python3-matplotlib) and run /usr/bin/python3")

# Fashion-MNIST's classes (Xiao et al. 2017), for titles; other datasets show class ids.
FASHION_MNIST = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot"]


def class_name(i, num_classes):
    return FASHION_MNIST[i] if num_classes == len(FASHION_MNIST) else str(i)


def module_order(name):
    """HDF5 lists names alphabetically ("layers.13" before "layers.3"); numbers sort as numbers
    here, which is the model's order for Sequential-style and stacked-layer names."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def panels(records):
    """(name, kind) for every record that is drawn, in the model's order."""
    out = []
    for name in sorted(records, key=module_order):
        data = records[name]
        if name == "logits":
            continue
        if data.ndim == 4:
            out.append((name, "map" if name.endswith("spatial_attention.weights") else "heads"))
        elif data.ndim == 2:
            out.append((name, "bars"))
    return out


def draw_input(ax, x):
    image = x.reshape(x.shape[-2], x.shape[-1]) if x.ndim >= 2 else x.reshape(1, -1)
    ax.imshow(image, cmap="gray")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_sample(f, records, b, path):
    x = f["input"][b]
    target = int(f["target"][b])
    index = int(f["indices"][b])
    drawn = panels(records)
    width = max([records[n].shape[1] for n, k in drawn if k == "heads"] + [1]) + 1
    fig, axes = plt.subplots(len(drawn) + 1, width, figsize=(2.6 * width, 2.6 * (len(drawn) + 1)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    logits = records["logits"][b] if "logits" in records else None
    num_classes = logits.shape[0] if logits is not None else 0
    title = f"example {index}: true {class_name(target, num_classes)}"
    if logits is not None:
        title += f", predicted {class_name(int(np.argmax(logits)), num_classes)}"
    axes[0][0].axis("on")
    draw_input(axes[0][0], x)
    axes[0][0].set_title("input", fontsize=9)
    fig.suptitle(title, fontsize=11)
    for row, (name, kind) in enumerate(drawn, start=1):
        data = records[name][b]
        if kind == "heads":
            vmax = float(data.max()) or 1.0  # one colour scale for the row, so heads compare
            for h in range(data.shape[0]):
                ax = axes[row][h]
                ax.axis("on")
                im = ax.imshow(data[h], cmap="viridis", vmin=0, vmax=vmax, aspect="auto")
                ax.set_title(f"{name}\nhead {h}" if h == 0 else f"head {h}", fontsize=8)
                ax.set_xlabel("key", fontsize=7)
                ax.set_ylabel("query", fontsize=7)
                ax.tick_params(labelsize=6)
            fig.colorbar(im, ax=axes[row][data.shape[0] - 1], fraction=0.046)
        elif kind == "map":
            ax = axes[row][0]
            ax.axis("on")
            ax.imshow(data[0], cmap="viridis", vmin=0, vmax=1)
            ax.set_title(name, fontsize=8)
        else:
            ax = axes[row][0]
            ax.axis("on")
            ax.bar(np.arange(data.shape[0]), data)
            ax.set_title(name, fontsize=8)
            ax.set_xlabel("channel", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def vocab(f, name):
    raw = f[name][()]
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


LABELLED = 60  # the most tokens a map labels one by one


def tokens(ids, names):
    """The tokens of one padded row of ids, up to its first <pad> (id 0)."""
    out = []
    for i in ids:
        if int(i) == 0:
            break
        out.append(names[int(i)])
    return out


def plot_tokens_sample(f, records, b, path):
    """Every attention record of example b as token-labelled heat maps, one panel per head."""
    source = tokens(f["input"][b], vocab(f, "input_vocab"))
    target = tokens(f["target"][b], vocab(f, "target_vocab")) if f["target"].ndim == 2 else []
    index = int(f["indices"][b])
    drawn = [name for name, kind in panels(records) if kind == "heads"]
    width = max([records[n].shape[1] for n in drawn] + [1])
    # A third of an inch a token, up to LABELLED tokens a side; longer sequences (a copy task of
    # 1,000 steps) shrink to that size and are labelled by position.
    longest = max(len(target), len(source), 1)
    cell = 0.35 * min(1.0, LABELLED / longest)
    fig, axes = plt.subplots(max(len(drawn), 1), width, squeeze=False,
                             figsize=(cell * len(source) * width + 2.5,
                                      cell * longest * max(len(drawn), 1) + 1.5))
    sep = "" if all(len(t) == 1 for t in source) else " "
    title = f"example {index}: {sep.join(source)} -> {' '.join(target)}"
    fig.suptitle(title if len(title) <= 160 else title[:157] + "...", fontsize=10)
    for row, name in enumerate(drawn):
        data = records[name][b]
        # A decoder's attention has a row per target token; self-attention one per input token.
        queries = target if target and data.shape[1] >= len(target) else source
        ylabel = "output step" if queries is target else "query"
        # Attention over a part of the input (a reader's passage and question) is narrower than
        # the input: its rows and columns are labelled by position, not by the input's tokens.
        keys, xlabel = (source, "input") if data.shape[2] >= len(source) else \
            ([str(i) for i in range(data.shape[2])], "key position")
        if data.shape[1] < len(queries):
            queries, ylabel = [str(i) for i in range(data.shape[1])], "query position"
        rows = min(data.shape[1], len(queries)) if queries else data.shape[1]
        for h in range(data.shape[0]):
            ax = axes[row][h]
            im = ax.imshow(data[h][:rows, :len(keys)], cmap="viridis", vmin=0, vmax=1,
                           aspect="auto")
            if len(keys) <= LABELLED and rows <= LABELLED:
                ax.set_xticks(range(len(keys)), keys, fontsize=8)
                ax.set_yticks(range(rows), queries[:rows], fontsize=8)
            else:
                xlabel, ylabel = "key position", "query position"
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylabel(ylabel, fontsize=8)
            ax.set_title(f"{name}" + (f", head {h}" if data.shape[0] > 1 else ""), fontsize=8)
        fig.colorbar(im, ax=axes[row][data.shape[0] - 1], fraction=0.046, label="weight")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", help="an HDF5 file written by `heed inspect`")
    parser.add_argument("--out", help="folder for the PNGs (default: beside the file)")
    parser.add_argument("--samples", type=int, default=0,
                        help="draw only the first N examples (default: all)")
    args = parser.parse_args()
    try:
        f = h5py.File(args.file, "r")
    except OSError as e:
        sys.exit(f"plot_inspection: {args.file}: cannot read ({e})")
    with f:
        if f.attrs.get("format") not in ("heed-inspect", b"heed-inspect"):
            sys.exit(f"plot_inspection: {args.file}: not a `heed inspect` file "
                     "(no format=\"heed-inspect\" attribute)")
        records = {name: f["records"][name][()] for name in f["records"]}
        out_dir = args.out or os.path.splitext(args.file)[0]
        os.makedirs(out_dir, exist_ok=True)
        n = f["input"].shape[0]
        for b in range(min(n, args.samples) if args.samples > 0 else n):
            path = os.path.join(out_dir, f"example_{int(f['indices'][b])}.png")
            print(draw(f, records, b, path))


def draw(f, records, b, path):
    """Example b of an open `heed inspect` file into the PNG `path`; returns path."""
    return (plot_tokens_sample if "input_vocab" in f else plot_sample)(f, records, b, path)


if __name__ == "__main__":
    main()
