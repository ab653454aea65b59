#!/usr/bin/env bash
# tools/plot_inspection.py on a real `heed inspect` file: a tiny run, an inspection of 2 test
# images, one PNG per image. Skipped (status 77) where /usr/bin/python3 lacks h5py or matplotlib
# (`tools/bootstrap.sh tools` installs them).
set -euo pipefail
source "$(dirname "$0")/setup.sh" "$1" h5py matplotlib
cat > "$tmp/r.json" <<'JSON'
{"data": {"name": "fashion_mnist", "max_train_samples": 64, "max_test_samples": 16},
 "model": {"type": "sequence_classifier",
           "encoder": {"type": "transformer", "d_model": 16, "nhead": 2, "num_layers": 1}},
 "optimizer": {"name": "adam"}, "train": {"max_steps": 1, "batch_size": 32, "threads": 1}}
JSON
"$heed" train "$tmp/r.json" --out "$tmp/run" > /dev/null 2>&1
"$heed" inspect "$tmp/run" --samples 2 > /dev/null
/usr/bin/python3 "$root/tools/plot_inspection.py" "$tmp/run/inspect_test.h5" --out "$tmp/png" > "$tmp/list"
[ "$(wc -l < "$tmp/list")" -eq 2 ]
for f in $(cat "$tmp/list"); do
  [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = "211PNG" ] || { echo "$f is not a PNG"; exit 1; }
done
# A file that is not an inspection is refused with its name.
if /usr/bin/python3 "$root/tools/plot_inspection.py" "$tmp/run/checkpoints/last.h5" 2> "$tmp/err"; then
  echo "a checkpoint was accepted"; exit 1
fi
grep -q "not a \`heed inspect\` file" "$tmp/err"
echo ok
