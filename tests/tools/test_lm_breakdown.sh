#!/usr/bin/env bash
# tools/lm_breakdown.py against `heed eval`: tiny character LMs (an LSTM carrying its state over
# streams, with weight drop and locked dropouts; a tied GRU reading windows from zeros) trained on
# a two-file corpus written here; the tool's whole-split bpc equals heed eval's bits_per_token to
# 1e-4 on test and dev, statically and with dynamic evaluation (heed eval --dynamic-lr against
# the tool's PyTorch loop), and its parts add up (targets to the split's, shares to 1). Skipped
# (status 77) where /usr/bin/python3 lacks torch or h5py (`tools/bootstrap.sh torch`).
set -euo pipefail
source "$(dirname "$0")/setup.sh" "$1" torch h5py
mkdir "$tmp/corpus"
for i in $(seq 1 60); do echo "the quick brown fox $i jumps over the lazy dog."; done > "$tmp/corpus/a"
for i in $(seq 1 12); do echo "ARE WE HAVING FUN YET? zippy says $i"; done > "$tmp/corpus/b"
cat > "$tmp/lstm.json" <<JSON
{"data": {"name": "text", "path": "$tmp/corpus", "bptt": 16, "carry_state": true},
 "model": {"type": "language_model", "embedding_size": 8, "embedding_dropout": 0.1,
           "encoder": {"type": "lstm", "hidden_size": 12, "num_layers": 2, "dropout": 0.2,
                       "locked_dropout": true, "weight_drop": 0.2, "input_dropout": 0.1,
                       "output_dropout": 0.1}},
 "optimizer": {"name": "adam", "lr": 0.01},
 "train": {"epochs": 2, "batch_size": 4, "eval_batch_size": 3, "threads": 1, "seed": 2}}
JSON
cat > "$tmp/gru.json" <<JSON
{"data": {"name": "text", "path": "$tmp/corpus", "bptt": 16},
 "model": {"type": "language_model", "embedding_size": 10, "tie_weights": true,
           "encoder": {"type": "gru", "hidden_size": 10}},
 "optimizer": {"name": "adam", "lr": 0.01},
 "train": {"epochs": 2, "batch_size": 4, "threads": 1, "seed": 2}}
JSON
for r in lstm gru; do
  "$heed" train "$tmp/$r.json" --out "$tmp/$r" > /dev/null 2> "$tmp/$r.log" || { cat "$tmp/$r.log"; exit 1; }
  for split in test dev dynamic; do
    args=(--split "$split")
    # Dynamic evaluation of dev: heed's against the tool's PyTorch loop.
    [ "$split" = dynamic ] && args=(--split dev --dynamic-lr 0.05 --dynamic-decay 0.02)
    "$heed" eval "$tmp/$r" "${args[@]}" > "$tmp/$r.$split.heed"
    /usr/bin/python3 "$root/tools/lm_breakdown.py" "$tmp/$r" "${args[@]}" > "$tmp/$r.$split.tool"
    /usr/bin/python3 - "$tmp/$r.$split.heed" "$tmp/$r.$split.tool" "$r $split" <<'PY'
import json, sys
heed = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
tool = json.load(open(sys.argv[2]))
what = sys.argv[3]
assert abs(tool["bpc"] - heed["bits_per_token"]) < 1e-4, (what, tool["bpc"], heed)
for kind in ("by_file", "by_class"):
    parts = tool[kind].values()
    assert sum(p["targets"] for p in parts) == tool["targets"], (what, kind)
    assert abs(sum(p["share"] for p in parts) - 1) < 1e-9, (what, kind)
    total = sum(p["bpc"] * p["targets"] for p in parts) / tool["targets"]
    assert abs(total - tool["bpc"]) < 1e-9, (what, kind)
assert tool.get("dynamic") == heed.get("dynamic"), (what, tool.get("dynamic"), heed.get("dynamic"))
print(what, "bpc", round(tool["bpc"], 5), "heed", round(heed["bits_per_token"], 5),
      "files", sorted(tool["by_file"]))
PY
  done
done
