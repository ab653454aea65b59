#!/usr/bin/env bash
# Installs what heed needs on Debian 12 (only the packages that are missing), then configures and
# builds the release preset. Safe to run again: it does nothing that is already done.
#   tools/bootstrap.sh            build/release (heed, heed_tests, heed_bench)
#   tools/bootstrap.sh asan       build/asan, AddressSanitizer + UndefinedBehaviorSanitizer
#   tools/bootstrap.sh tools      also the Python packages of tools/ (plots), then build/release
#   tools/bootstrap.sh torch      as tools, plus PyTorch for tools/torch_load.py and its test
#                                 (python3-torch: over 230 MB installed with libtorch)
#   tools/bootstrap.sh fuzz       also clang and its fuzzer and sanitizer runtimes, then build/fuzz:
#                                 the libFuzzer targets of tests/fuzz (run them with tools/fuzz.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"

packages=(
  g++ cmake make pkg-config
  libdnnl-dev             # oneDNN: matmul (and later convolution, RNN) primitives
  nlohmann-json3-dev      # recipes and configuration
  libhdf5-dev             # checkpoints
  doctest-dev             # tests
  libcli11-dev            # the heed command line
  zlib1g-dev              # gzipped IDX files
  dataset-fashion-mnist   # the data: /usr/share/datasets/fashion-mnist
  festlex-cmu             # CMUdict for G2P: /usr/share/festival/dicts/cmu/cmudict-0.4.out
  fortunes                # text for character LMs: /usr/share/games/fortunes
  libopenmpi-dev openmpi-bin  # MPI: mpirun -np N heed train/compare (docs/distributed.md)
)
if [ "$preset" = torch ]; then
  # tools/torch_load.py and the bench/ reference, run by /usr/bin/python3; OpenBLAS, or PyTorch
  # falls back to netlib BLAS (about 6 GFLOP/s here) and every bench ratio is meaningless.
  packages+=(python3-torch libopenblas0-openmp)
  preset=tools
fi
if [ "$preset" = tools ]; then
  packages+=(python3-h5py python3-matplotlib)  # tools/plot_inspection.py and plot_study.py (/usr/bin/python3)
  preset=release
fi
if [ "$preset" = fuzz ]; then
  # libclang-rt-14-dev: libFuzzer and the ASan/UBSan runtimes; libomp-14-dev: OpenMP for clang.
  packages+=(clang-14 libclang-rt-14-dev libomp-14-dev)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
