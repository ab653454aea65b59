#!/usr/bin/env bash
# Builds the fuzz preset (clang, libFuzzer, ASan + UBSan) and runs each fuzz target of tests/fuzz
# for SECONDS on a scratch copy of its seed corpus, one target at a time (docs/fuzzing.md).
# Exits non-zero if any target has a finding: a crash, a sanitizer report, an exception other than
# heed::Error, a leak, a timeout, or an allocation beyond the memory limits below. Findings are
# kept in build/fuzz/findings/<target>/ with the log; the repository is never written to.
#   tools/fuzz.sh                  every target for 60 seconds
#   tools/fuzz.sh 15               every target for 15 seconds (CI)
#   tools/fuzz.sh 300 fuzz_idx     one target for 5 minutes
# Extra libFuzzer flags go in HEED_FUZZ_FLAGS (e.g. "-jobs=2" or "-only_ascii=1").
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_idx fuzz_recipe fuzz_checkpoint)

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

scratch=$(mktemp -d "${TMPDIR:-/tmp}/heed-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
findings_root=build/fuzz/findings
failed=()
for target in "${targets[@]}"; do
  corpus="$scratch/$target/corpus"
  findings="$findings_root/$target"
  rm -rf "$findings"  # the last run's findings only
  mkdir -p "$corpus" "$scratch/$target/tmp" "$findings"
  cp -R "tests/fuzz/corpus/$target/." "$corpus/"
  flags=(-max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -malloc_limit_mb=1024
         -print_final_stats=1 -artifact_prefix="$findings/")
  [ -f "tests/fuzz/$target.dict" ] && flags+=(-dict="tests/fuzz/$target.dict")
  seeds=()
  # The committed recipes are seeds too, read from the repository (libFuzzer writes new inputs
  # only to the first corpus directory, the scratch copy).
  [ "$target" = fuzz_recipe ] && seeds+=(recipes)
  echo "fuzz: $target for ${seconds}s" >&2
  start=$(date +%s)
  # TMPDIR: the targets' scratch files (and what a crash leaves behind) stay in $scratch.
  # OMP_NUM_THREADS=1: a target needs no threads, and the machine may be shared.
  # allocator_may_return_null: a failed malloc returns NULL as it does outside ASan, so code that
  # handles it (heed's tensors, HDF5) is not reported, while std::bad_alloc still is.
  if TMPDIR="$scratch/$target/tmp" OMP_NUM_THREADS=1 \
     ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}" \
     UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
     LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0}" \
     "build/fuzz/tests/fuzz/$target" "${flags[@]}" ${HEED_FUZZ_FLAGS:-} "$corpus" "${seeds[@]}" \
       </dev/null >"$findings/log.txt" 2>&1; then
    status=ok
  else
    status=FINDING
    failed+=("$target")
  fi
  # The last count is the target's own: the HDF5 probe's forked children (framework/hdf5_probe.h)
  # carry libFuzzer's handlers, so a child that crashes in HDF5, as the probe expects, prints
  # its own count and writes a crash file. The target's exit status alone decides; on success
  # those files are the probe's, not findings.
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$findings/log.txt" | tail -1 |
         grep -o '[0-9]*$' || echo "?")
  if [ "$status" = ok ]; then
    probed=$(find "$findings" -name 'crash-*' | wc -l)
    rm -f "$findings"/crash-*
    [ "$probed" -eq 0 ] || echo "fuzz: $target: $probed inputs crashed HDF5 inside the probe's child, as designed" >&2
  fi
  echo "fuzz: $target: $status after $(( $(date +%s) - start ))s, $runs inputs run" >&2
  if [ "$status" = FINDING ]; then
    grep -E "ERROR:|SUMMARY:|Test unit written|what\(\)|runtime error|fuzz finding" \
      "$findings/log.txt" | head -8 >&2 || true
    echo "fuzz: log and input in $findings/; reproduce with build/fuzz/tests/fuzz/$target FILE" >&2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: no findings" >&2
