#!/usr/bin/python3
"""Bits per character of a heed character LSTM/GRU language model on one split of the `text`
dataset, broken down by the corpus file each target character comes from and by its class
(upper case, lower case, white space, other): which text a model's test bpc is lost on.

    /usr/bin/python3 tools/lm_breakdown.py RUN_DIR [--checkpoint FILE] [--split test|dev]
                                          [--dynamic-lr LR [--dynamic-decay D]] [--bptt N]

prints one JSON object: {"bpc", "targets", "by_file": {name: {"targets", "bpc", "share"}},
"by_class": {...}} where "share" is the part's fraction of the split's bits. The whole-split
"bpc" is `heed eval RUN_DIR --split ...`'s bits_per_token, recomputed here in PyTorch (float32).

The split is rebuilt as datasets/registry.cpp builds it: the corpus folder's regular files in byte
order of their names (no .dat files, no links), as code points; train the first 90%, dev the next
5%, test the rest; the vocabulary train's characters in code-point order after <pad>, <bos>, <eos>,
<unk>; with data.carry_state the split cut into train.eval_batch_size streams, each read whole
with the state carried (exactly what the windows with carried state compute), else one window of
data.bptt characters at a time from zeros. The model ("language_model" with an lstm or gru
encoder, untied or tied) is assembled from torch.nn layers and loaded from the checkpoint's
/model group (heed names parameters as PyTorch does, docs/checkpoint.md); training-only
regularizers (dropouts, weight drop) do not act at evaluation.

With --dynamic-lr it is `heed eval --dynamic-lr` instead (framework/dynamic_evaluation.h, Krause
et al. 2018): the split read as one stream, window by window (data.bptt characters, the state
carried across them with data.carry_state), each window scored and then a step taken on its mean
cross-entropy in nats: p += decay (p_trained - p) - lr grad. This loop is the PyTorch reference
that tests/tools/test_lm_breakdown.sh holds heed's against.

Needs Debian's python3-torch and python3-h5py (`tools/bootstrap.sh torch`); run /usr/bin/python3.
"""

import argparse
import json
import math
import os
import sys

import h5py
import numpy as np
import torch

SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]


def corpus(path):
    """The corpus as (code points, the file name of each)."""
    folder = os.fsencode(path)  # names in byte order, as heed reads them
    files = [folder] if os.path.isfile(folder) else [
        os.path.join(folder, n) for n in sorted(os.listdir(folder))
        if not n.endswith(b".dat") and os.path.isfile(os.path.join(folder, n))
        and not os.path.islink(os.path.join(folder, n))]
    chars, source = [], []
    for f in files:
        name = os.path.basename(os.fsdecode(f))
        text = open(f, "rb").read().decode("utf-8")
        chars += list(text)
        source += [name] * len(text)
    return chars, source


def build_model(recipe, vocab, state):
    m, e = recipe["model"], recipe["model"]["encoder"]
    kind = e.get("type", "lstm")
    if m.get("type") != "language_model" or kind not in ("lstm", "gru"):
        sys.exit("lm_breakdown.py: needs a language_model with an lstm or gru encoder")
    hidden = e.get("hidden_size", 128)
    emb = torch.nn.Embedding(vocab, m.get("embedding_size", 128))
    rnn = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(
        emb.embedding_dim, hidden, e.get("num_layers", 1), batch_first=True)
    emb.load_state_dict({"weight": state["embedding.weight"]})
    rnn.load_state_dict({k[len(kind) + 1:]: v for k, v in state.items() if k.startswith(kind + ".")})
    if m.get("tie_weights", False):
        weight, bias = emb.weight, state["head_bias"]
    else:
        weight, bias = state["head.weight"], state["head.bias"]

    def bits(x, state=None):
        """x int64 [streams, len] -> (bits of each next character [streams, len - 1], the end state)"""
        h, end = rnn(emb(x[:, :-1]), state)
        logp = torch.log_softmax(torch.nn.functional.linear(h, weight, bias), -1)
        return -logp.gather(2, x[:, 1:].unsqueeze(-1)).squeeze(-1) / math.log(2), end
    # Every parameter once (a tied head reads the embedding's weight).
    params = list(emb.parameters()) + list(rnn.parameters()) + (
        [bias] if m.get("tie_weights", False) else [weight, bias])
    for p in params:
        p.requires_grad_(True)
    return bits, params


def dynamic_bits(bits_of, params, pieces, ids, carry, lr, decay):
    """Bits of each target, each window scored before its step (heed eval --dynamic-lr)."""
    trained = [p.detach().clone() for p in params]
    out, state = [], None
    for start, length in pieces:
        b, end = bits_of(torch.tensor([ids[start:start + length]]), state if carry else None)
        out += b[0].tolist()
        (b.mean() * math.log(2)).backward()  # the window's mean cross-entropy in nats
        with torch.no_grad():
            for p, g in zip(params, trained):
                p += decay * (g - p) - lr * p.grad
                p.grad = None
        state = tuple(s.detach() for s in end) if isinstance(end, tuple) else end.detach()
    return out


def char_class(c):
    return ("upper" if c.isupper() else "lower" if c.islower() else
            "space" if c.isspace() else "other")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--checkpoint", help="default RUN_DIR/checkpoints/last.h5")
    parser.add_argument("--split", choices=["test", "dev"], default="test")
    parser.add_argument("--dynamic-lr", type=float, help="dynamic evaluation's step size")
    parser.add_argument("--dynamic-decay", type=float, default=0.0,
                        help="dynamic evaluation's pull back towards the trained weights")
    parser.add_argument("--bptt", type=int,
                        help="characters per window (default data.bptt; heed eval --set data.bptt)")
    a = parser.parse_args()
    recipe = json.load(open(os.path.join(a.run_dir, "recipe.resolved.json")))
    data = recipe["data"]
    chars, source = corpus(data.get("path", "/usr/share/games/fortunes"))
    n = len(chars)
    train, dev = n * 90 // 100, n * 95 // 100 - n * 90 // 100
    begin, end = (train, train + dev) if a.split == "dev" else (train + dev, n)
    vocab = SPECIALS + sorted(set(chars[:train]))
    index = {c: i for i, c in enumerate(vocab)}
    ids = [index.get(c, 3) for c in chars[begin:end]]
    checkpoint = a.checkpoint or os.path.join(a.run_dir, "checkpoints", "last.h5")
    with h5py.File(checkpoint, "r") as f:
        group = f["averaged_model"] if "averaged_model" in f else f["model"]
        state = {k: torch.tensor(np.array(group[k])) for k in group.keys()}
    bits_of, params = build_model(recipe, len(vocab), state)
    # (stream start, length) pieces each read from zeros, and the targets they score
    dynamic = a.dynamic_lr is not None
    if data.get("carry_state", False) and not dynamic:
        streams = recipe["train"]["eval_batch_size"]
        length = len(ids) // streams
        pieces = [(r * length, length) for r in range(streams)]
    else:
        bptt = a.bptt or data.get("bptt", 128)
        pieces = [(s, min(bptt + 1, len(ids) - s)) for s in range(0, len(ids) - 1, bptt)]
    bits, where, what = [], [], []
    for start, length in pieces:
        where += source[begin + start + 1:begin + start + length]
        what += [char_class(c) for c in chars[begin + start + 1:begin + start + length]]
    if dynamic:
        bits = dynamic_bits(bits_of, params, pieces, ids, data.get("carry_state", False),
                            a.dynamic_lr, a.dynamic_decay)
    else:
        with torch.no_grad():
            for start, length in pieces:
                bits += bits_of(torch.tensor([ids[start:start + length]]))[0][0].tolist()
    bits = np.array(bits)
    total = bits.sum()

    def parts(labels):
        labels = np.array(labels)
        return {k: {"targets": int((labels == k).sum()), "bpc": float(bits[labels == k].mean()),
                    "share": float(bits[labels == k].sum() / total)} for k in sorted(set(labels))}
    result = {"checkpoint": checkpoint, "split": a.split, "bpc": float(bits.mean()),
              "targets": len(bits), "by_file": parts(where), "by_class": parts(what)}
    if dynamic:
        result["dynamic"] = {"lr": a.dynamic_lr, "decay": a.dynamic_decay}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
