#!/usr/bin/env bash
# Writes the generated seeds of tests/fuzz/corpus/ (docs/fuzzing.md): small IDX files, plain and
# gzipped, valid and slightly broken (python3's gzip module), and checkpoints of
# fuzz_checkpoint.recipe.json trained by the heed binary on 6 examples (2 more are its dev split); and fuzz_recipe.dict from
# the keys in docs/ and the names `heed list` prints. The recipe seeds are written by hand;
# regression inputs are added by hand as findings are fixed.
#   tests/fuzz/make_seeds.sh [HEED_BINARY]      (default build/release/heed)
set -euo pipefail
cd "$(dirname "$0")/../.."
heed="${1:-build/release/heed}"
corpus=tests/fuzz/corpus

python3 - "$corpus/fuzz_idx" <<'PY'
import gzip, struct, sys, pathlib
out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)

def idx(dims, data, type_=8):
    return bytes([0, 0, type_, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)

def gz(b):
    return gzip.compress(b, mtime=0)

# The first 3 images and 16 labels of the real Fashion-MNIST training split.
real = pathlib.Path("/usr/share/datasets/fashion-mnist")
images = gzip.open(real / "train-images-idx3-ubyte.gz").read(16 + 3 * 784)
labels = gzip.open(real / "train-labels-idx1-ubyte.gz").read(8 + 16)
seeds = {
    "images3.idx": images[:4] + struct.pack(">I", 3) + images[8:],
    "labels16.idx": labels[:4] + struct.pack(">I", 16) + labels[8:],
    "cube.idx": idx([3, 2, 4], range(24)),
    "one.idx": idx([1], [7]),
    "truncated.idx": idx([10], range(7)),
    "trailing.idx": idx([4], range(6)),
    "zero_dim.idx": idx([2, 0, 3], []),
    "float32.idx": idx([2], range(8), type_=0x0D),
    "huge_dims.idx": idx([65536, 32768], []),
}
for name, data in seeds.items():
    (out / name).write_bytes(data)
    (out / (name + ".gz")).write_bytes(gz(data))
cube = idx([3, 2, 4], range(24))
(out / "two_members.idx.gz").write_bytes(gz(cube[:10]) + gz(cube[10:]))
(out / "garbage_after_gzip.idx.gz").write_bytes(gz(cube) + b"xyz")
(out / "cut_gzip.idx.gz").write_bytes(gz(seeds["labels16.idx"])[:20])
PY

recipe=tests/fuzz/fuzz_checkpoint.recipe.json
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
small=(--set data.max_train_samples=6 --set data.max_test_samples=4)
train() {
  "$heed" train "$recipe" "${small[@]}" "$@" >"$run/log" 2>&1 || { cat "$run/log" >&2; exit 1; }
}
train --out "$run/end"
train --out "$run/mid" --set train.max_steps=3
mkdir -p "$corpus/fuzz_checkpoint"
cp "$run/end/checkpoints/last.h5" "$corpus/fuzz_checkpoint/end_of_run.h5"
cp "$run/end/checkpoints/best.h5" "$corpus/fuzz_checkpoint/best.h5"
cp "$run/mid/checkpoints/last.h5" "$corpus/fuzz_checkpoint/mid_epoch.h5"
HEED_LIST="$("$heed" list)" python3 - tests/fuzz/fuzz_recipe.dict docs/recipes.md docs/optim.md docs/layers.md <<'PY'
import os, re, sys
out_path, docs = sys.argv[1], sys.argv[2:]
heed_list = os.environ["HEED_LIST"]
words = set()
for doc in docs:
    words |= set(re.findall(r"`([a-z_A-Z0-9]+)`", open(doc).read()))
words |= set(re.findall(r'"([a-z_0-9]+)"', heed_list))
words |= set(re.findall(r"^(?:model|optimizer|schedule|dataset) ([a-z_0-9]+)$", heed_list, re.M))
words |= set(re.findall(r"(?:options: |, |; |: )([a-z_][a-z_0-9]*) \(", heed_list))
words = sorted(w for w in words if not w.isdigit() and (w.islower() or w.startswith("T_")))
syntax = ["{", "}", "[", "]", ":", ",", '"', "true", "false", "null", "-1", "0", "1", "1e308",
          "1e-308", "-0.0", "9223372036854775807", "-9223372036854775808", "18446744073709551615",
          "2147483648", "4294967296", '"include"', "/*", "*/", "//", "\\u0000", '\\"', "=", "."]
sets = ["data.", "model.", "model.encoder.", "model.layers.0.", "model.pooling.",
        "model.pooling.attention.", "optimizer.",
        "optimizer.param_groups.0.", "schedule.", "schedule.after.", "train.",
        "train.early_stopping.", "train.weight_average.", "init_from.", "output."]
def quote(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')
lines = ["# libFuzzer dictionary for fuzz_recipe (docs/fuzzing.md), written by make_seeds.sh: JSON",
         "# syntax, edge numbers, --set prefixes, and heed's recipe keys and registry names from docs/",
         "# and `heed list`."]
lines += ['syntax_%d="%s"' % (i, quote(t)) for i, t in enumerate(syntax)]
lines += ['set_separator="\\x00"']
lines += ['set_%s="%s"' % (p.strip(".").replace(".", "_"), p) for p in sets]
lines += ['"\\"%s\\""' % w for w in words]
open(out_path, "w").write("\n".join(lines) + "\n")
PY
ls -l "$corpus"/fuzz_idx "$corpus"/fuzz_checkpoint | awk '{s += $5} END {print s " bytes"}'
