#!/usr/bin/env bash
# Studies can't rot either: every committed study (studies/*.json) validates and builds every
# run's model (`heed compare --dry-run`), and its committed report (studies/<name>/report.json,
# which README's tables quote) covers exactly the runs the study describes now, every one of
# them ended, so a study changed without its report regenerated fails here.
set -euo pipefail
heed="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
count=0
for study in "$root"/studies/*.json; do
  name="$(basename "$study" .json)"
  out="$("$heed" compare "$study" --dry-run)"
  runs=$(grep -c ' parameters$' <<<"$out" || true)
  report="$root/studies/$name/report.json"
  if [ ! -f "$report" ]; then
    echo "test_every_study: $study has no committed report ($report)" >&2
    exit 1
  fi
  reported=$(grep -o '"runs": *[0-9]*' "$report" | grep -o '[0-9]*$' || echo 0)
  ended=$(grep -o '"runs_ended": *[0-9]*' "$report" | grep -o '[0-9]*$' || echo 0)
  if [ "$ended" -ne "$reported" ]; then
    echo "test_every_study: the report of $study covers $ended of its $reported runs" >&2
    exit 1
  fi
  if [ "$runs" -ne "$reported" ]; then
    echo "test_every_study: $study describes $runs runs, its report $reported" \
         "(regenerate it: heed compare $study --out studies/$name)" >&2
    exit 1
  fi
  count=$((count + 1))
done
echo "test_every_study: all $count studies validate and match their reports"
