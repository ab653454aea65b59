#!/usr/bin/env bash
# A real full disk (issue 9): a run on a 1 MiB tmpfs, the disk filled, `heed train --resume`
# with a changed recipe must fail with one line naming the file and the cause, leave the
# recipe and the checkpoint as they were, and resume to the end once space returns, ending as the
# same run trained straight. Needs a mount namespace (as root, or with user namespaces); exits 77
# (skipped) where neither is allowed. tests/framework/test_run_dir.cpp holds the same checks with
# an injected write failure, which runs everywhere.
set -euo pipefail
heed=$(realpath "$1")
if [ -z "${HEED_IN_NAMESPACE:-}" ]; then
  for flags in "-m" "-r -m"; do
    # shellcheck disable=SC2086
    if unshare $flags true 2>/dev/null; then
      HEED_IN_NAMESPACE=1 exec unshare $flags "$0" "$@"
    fi
  done
  echo "no mount namespace available: skipped" >&2
  exit 77
fi

work=$(mktemp -d)
trap 'umount "$work/disk" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir "$work/disk"
mount -t tmpfs -o size=1m tmpfs "$work/disk" || { echo "cannot mount a tmpfs: skipped" >&2; exit 77; }
cat > "$work/recipe.json" <<'JSON'
{"data": {"name": "fashion_mnist", "max_train_samples": 320, "max_test_samples": 200},
 "model": {"type": "sequence_classifier", "encoder": {"type": "lstm", "hidden_size": 16}},
 "optimizer": {"name": "adam", "lr": 0.003},
 "train": {"epochs": 3, "batch_size": 32, "seed": 5, "threads": 1}}
JSON
run="$work/disk/run"
"$heed" train "$work/recipe.json" --out "$run" > /dev/null 2>&1
"$heed" train "$work/recipe.json" --out "$work/straight" --set train.epochs=5 > /dev/null 2>&1

dd if=/dev/zero of="$work/disk/fill" bs=4k > /dev/null 2>&1 || true  # until the disk is full
cp "$run/recipe.resolved.json" "$work/recipe.before"
cp "$run/checkpoints/last.h5" "$work/last.before"
status=0
"$heed" train --resume "$run" --set train.epochs=5 > /dev/null 2> "$work/err" || status=$?
error=$(tail -n 1 "$work/err")
echo "full disk: status $status, $error"
[ "$status" -eq 1 ] || { echo "FAIL: expected status 1"; exit 1; }
case "$error" in
  "heed: error: cannot "*"$run/"*"No space left on device"*) ;;
  *) echo "FAIL: the error does not name the file and the cause"; exit 1 ;;
esac
cmp -s "$run/recipe.resolved.json" "$work/recipe.before" || { echo "FAIL: recipe changed"; exit 1; }
cmp -s "$run/checkpoints/last.h5" "$work/last.before" || { echo "FAIL: checkpoint changed"; exit 1; }

rm "$work/disk/fill"
"$heed" train --resume "$run" --set train.epochs=5 > /dev/null 2>&1
resumed=$("$heed" eval "$run" | sed 's/"checkpoint":"[^"]*",//')
straight=$("$heed" eval "$work/straight" | sed 's/"checkpoint":"[^"]*",//')
echo "resumed:  $resumed"
echo "straight: $straight"
[ "$resumed" = "$straight" ] || { echo "FAIL: the resumed run differs from the straight one"; exit 1; }
echo "ok"
