#!/usr/bin/env bash
# Layering (issue 10, docs/design.md): framework/ includes nothing from optim/, layers/ or
# datasets/. The trainer drives those folders only through the interfaces framework/ owns
# (framework/model.h, framework/optimizer.h, framework/registry.h). Fails naming every file and
# line of framework/ that includes one of their headers. ($1, the heed binary, is not used.)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
pattern='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](\.\./)*(optim|layers|datasets)/'
# The pattern itself, so that a typo in it cannot make this test pass on anything.
for line in '#include "optim/sgd.h"' '  #  include <layers/linear.h>' '#include "../datasets/idx.h"'; do
  grep -qE "$pattern" <<<"$line" || { echo "test_layering: the pattern misses: $line" >&2; exit 1; }
done
! grep -qE "$pattern" <<<'#include "framework/optimizer.h"' ||
  { echo "test_layering: the pattern matches framework/ itself" >&2; exit 1; }
[ -d "$root/framework" ] || { echo "test_layering: no $root/framework" >&2; exit 1; }
status=0
hits=$(cd "$root" && grep -rnE "$pattern" framework) || status=$?
if [ "$status" -eq 0 ]; then
  echo "test_layering: framework/ must not include optim/, layers/ or datasets/ (declare the" \
       "interface in framework/ and implement it in those folders):" >&2
  echo "$hits" >&2
  exit 1
fi
[ "$status" -eq 1 ] || { echo "test_layering: grep failed ($status)" >&2; exit 1; }
echo "test_layering: framework/ includes nothing from optim/, layers/ or datasets/"
