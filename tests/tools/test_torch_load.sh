#!/usr/bin/env bash
# tools/torch_load.py against `heed eval`: tiny heed runs (a GRU, a bidirectional LSTM, pre- and
# post-LN Transformers, a CNN with batch norm, CBAM, squeeze-and-excitation and 1d layers) load
# into PyTorch with strict=True and give heed's test loss to 1e-4 and its accuracy
# exactly. Skipped (status 77) where /usr/bin/python3 lacks torch or h5py (`tools/bootstrap.sh
# torch` installs them; CI has no PyTorch).
set -euo pipefail
source "$(dirname "$0")/setup.sh" "$1" torch h5py

# 256 training examples (4 steps of 64), 200 test examples in eval batches of 64 (the last one
# partial, so the batch-weighted mean is tested too).
base='"data": {"name": "fashion_mnist", "max_train_samples": 256, "max_test_samples": 200 LAYOUT},
      "optimizer": {"name": "adam", "lr": 0.01},
      "train": {"epochs": 1, "batch_size": 64, "eval_batch_size": 64, "threads": 1, "seed": 3}'
recipe() {  # name, model JSON, optional layout key
  local layout="${3:-}"
  echo "{${base/LAYOUT/$layout}, \"model\": $2}" > "$tmp/$1.json"
}
recipe gru '{"type": "sequence_classifier", "pooling": "mean",
             "encoder": {"type": "gru", "hidden_size": 16, "num_layers": 2, "dropout": 0.1}}'
recipe bilstm '{"type": "sequence_classifier", "dropout": 0.2, "label_smoothing": 0.1,
                "encoder": {"type": "lstm", "hidden_size": 12, "bidirectional": true}}'
recipe transformer '{"type": "sequence_classifier",
                     "encoder": {"type": "transformer", "d_model": 16, "nhead": 2,
                                 "num_layers": 1, "dim_feedforward": 32}}'
recipe post_ln '{"type": "sequence_classifier", "pooling": "query",
                 "encoder": {"type": "transformer", "d_model": 16, "nhead": 4, "num_layers": 2,
                             "dim_feedforward": 24, "norm_first": false, "activation": "relu",
                             "positional": "sinusoidal"}}'
# Every image layer in one network: 2d layers, then the 14x14 maps as sequences of 49 for the 1d
# layers (flatten from dimension 2).
recipe cnn '{"type": "image_classifier", "layers": [
               {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
               {"type": "batch_norm2d"}, {"type": "relu"}, {"type": "max_pool2d", "kernel_size": 2},
               {"type": "cbam", "reduction": 4, "kernel_size": 3},
               {"type": "se", "reduction": 2}, {"type": "sigmoid"},
               {"type": "avg_pool2d", "kernel_size": 3, "stride": 1, "padding": 1,
                "count_include_pad": false},
               {"type": "adaptive_avg_pool2d", "output_size": 7},
               {"type": "flatten", "start_dim": 2},
               {"type": "conv1d", "out_channels": 16, "kernel_size": 3, "stride": 2},
               {"type": "batch_norm1d"}, {"type": "tanh"}, {"type": "max_pool1d", "kernel_size": 2},
               {"type": "avg_pool1d", "kernel_size": 3, "stride": 1, "padding": 1},
               {"type": "flatten"}, {"type": "linear", "out_features": 16}, {"type": "gelu"},
               {"type": "dropout", "p": 0.2}]}' ', "layout": "image"'

runs="gru bilstm transformer post_ln cnn"
for r in $runs; do
  "$heed" train "$tmp/$r.json" --out "$tmp/$r" > /dev/null 2> "$tmp/$r.log" || { cat "$tmp/$r.log"; exit 1; }
  "$heed" eval "$tmp/$r" > "$tmp/$r.heed"
done

# One Python process compares all runs through the module interface (load, evaluate), and checks
# that what PyTorch lacks is an error naming the recipe key: the transformer's checkpoint with its
# recipe rewritten to sparsemax attention.
cp "$tmp/transformer/checkpoints/last.h5" "$tmp/sparsemax.h5"
/usr/bin/python3 - "$root/tools" "$tmp" $runs <<'PY'
import h5py, json, sys
sys.path.insert(0, sys.argv[1])
from torch_load import TorchLoadError, evaluate, load
tmp, failed = sys.argv[2], False
for run in sys.argv[3:]:
    heed = json.load(open(f"{tmp}/{run}.heed"))
    model, recipe = load(f"{tmp}/{run}")
    torch = evaluate(model, recipe, "test")
    ok = abs(torch["loss"] - heed["loss"]) <= 1e-4 and torch["accuracy"] == heed["accuracy"] \
        and torch["samples"] == heed["samples"] == 200
    print(f"{run:12s} heed loss {heed['loss']:.7f} acc {heed['accuracy']:.4f} | torch loss "
          f"{torch['loss']:.7f} acc {torch['accuracy']:.4f} {'ok' if ok else 'MISMATCH'}")
    failed |= not ok

with h5py.File(f"{tmp}/sparsemax.h5", "r+") as f:
    recipe = json.loads(f["recipe"].asstr()[()])
    recipe["model"]["encoder"]["attention"] = "sparsemax"
    del f["recipe"]
    f["recipe"] = json.dumps(recipe)
for path, expected in [(f"{tmp}/sparsemax.h5", 'recipe key model.encoder.attention = "sparsemax": '),
                       (f"{tmp}/missing", f"{tmp}/missing: no such file or run directory"),
                       (f"{tmp}/gru.json", f"checkpoint {tmp}/gru.json: not an HDF5 file")]:
    try:
        load(path)
        print(f"{path} was accepted"); failed = True
    except TorchLoadError as e:
        if not str(e).startswith(expected):
            print(f"{path}: {e}\n  expected: {expected}"); failed = True
sys.exit(1 if failed else 0)
PY

# The command line: the module, then the evaluation as one JSON line with the same numbers; an
# error is one line with status 1.
/usr/bin/python3 "$root/tools/torch_load.py" "$tmp/bilstm/checkpoints/last.h5" --eval test > "$tmp/cli"
grep -q "(lstm): LSTM(28, 12, batch_first=True, bidirectional=True)" "$tmp/cli"
cli="$(tail -n 1 "$tmp/cli")"
/usr/bin/python3 -c "import json, sys; c, h = json.loads(sys.argv[1]), json.load(open(sys.argv[2]))
assert abs(c['loss'] - h['loss']) <= 1e-4 and c['accuracy'] == h['accuracy'], (c, h)" \
  "$cli" "$tmp/bilstm.heed"
status=0
/usr/bin/python3 "$root/tools/torch_load.py" "$tmp/sparsemax.h5" 2> "$tmp/err" > /dev/null || status=$?
[ "$status" -eq 1 ] || { echo "sparsemax: status $status"; exit 1; }
grep -q '^torch_load: error: recipe key model.encoder.attention = "sparsemax": ' "$tmp/err"
echo ok
