#!/usr/bin/env bash
# Recipes can't rot (issue 10): every committed recipe validates (`--dry-run`), trains 3 steps on
# 256 training examples through the real CLI, checkpoints, and `heed show` reads the checkpoint
# back, all through tools/recipe_checksums.sh. The checksums it prints are not compared here:
# they depend on the CPU (oneDNN's kernels), and CI's CPU is not this one.
set -euo pipefail
heed="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
lines=$("$root/tools/recipe_checksums.sh" --heed "$heed" --steps 3 \
          --set data.max_train_samples=256 --set data.max_test_samples=64)
echo "$lines"
expected=$(cd "$root" && find recipes -name '*.json' | wc -l)
trained=$(grep -c ' 0x[0-9a-f]\{8\} step 3$' <<<"$lines" || true)
if [ "$trained" -ne "$expected" ]; then
  echo "test_every_recipe: $trained of $expected recipes trained 3 steps" >&2
  exit 1
fi
echo "test_every_recipe: all $expected recipes validate, train 3 steps and checkpoint"
