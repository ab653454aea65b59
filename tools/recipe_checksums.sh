#!/usr/bin/env bash
# Trains every committed recipe for a few optimizer steps through the real CLI, one thread, and
# prints one line per recipe: its path and the CRC-32 of its weights' values after those steps
# (`heed show`'s `values_crc32`, docs/checkpoint.md). Run it before and after a change that
# should change no number (a refactoring), on the same machine: equal lines mean the same bits.
# tests/recipes/checksums_before_issue10.txt holds the lines from before issue 10's redesign.
# oneDNN picks kernels by CPU, so lines from two CPU models need not agree.
#   tools/recipe_checksums.sh [--steps N] [--heed BINARY] [--set path=value ...] [RECIPE ...]
# --steps: optimizer steps per recipe (20); --set: extra overrides for every recipe (e.g.
# data.max_train_samples=256 for a quick run); RECIPEs: these only (default: every recipe under
# recipes/). Exits 1 naming the first recipe that fails to validate, train or checkpoint, with
# heed's error; tests/recipes/test_every_recipe.sh runs it under ctest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
heed="$root/build/release/heed"
steps=20
sets=()
recipes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --heed) heed="$2"; shift 2 ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    -*) echo "recipe_checksums: unknown option $1" >&2; exit 2 ;;
    *) recipes+=("$1"); shift ;;
  esac
done
[ -x "$heed" ] || { echo "recipe_checksums: $heed is missing; run tools/bootstrap.sh" >&2; exit 2; }
if [ ${#recipes[@]} -eq 0 ]; then
  mapfile -t recipes < <(cd "$root" && find recipes -name '*.json' | sort)
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for recipe in "${recipes[@]}"; do
  [ -f "$recipe" ] || recipe="$root/$recipe"
  name="$(basename "$recipe" .json)"
  run="$tmp/$name"
  # The same overrides for the dry run as for training, so both see the recipe that trains.
  args=("$recipe" "${sets[@]}" --set train.max_steps="$steps" --set train.threads=1)
  if ! "$heed" train "${args[@]}" --dry-run >"$tmp/log" 2>&1 ||
     ! "$heed" train "${args[@]}" --out "$run" >"$tmp/log" 2>&1 ||
     ! "$heed" show "$run" >"$tmp/show.txt" 2>>"$tmp/log"; then
    echo "recipe_checksums: $recipe failed:" >&2
    tail -5 "$tmp/log" >&2
    exit 1
  fi
  crc=$(sed -n 's/.*, values crc32 \(0x[0-9a-f]*\)$/\1/p' "$tmp/show.txt")
  step=$(sed -n 's/^progress  *step \([0-9]*\),.*/\1/p' "$tmp/show.txt")
  echo "${recipe#"$root"/} $crc step $step"
  rm -rf "$run"
done
