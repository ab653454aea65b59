#include "framework/precision.h"

#include <atomic>
#include <cstdio>

#include "framework/error.h"

namespace heed {

namespace {

std::atomic<MatmulPrecision> g_precision{MatmulPrecision::Highest};

// AVX512_BF16 (Cooper Lake, Sapphire Rapids and later Xeons, AMD Zen 4): oneDNN's bfloat16 RNN
// kernels need it; without it oneDNN would fall back to a slow reference implementation.
bool cpu_has_bfloat16() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

}  // namespace

void set_float32_matmul_precision(MatmulPrecision precision) {
  if (precision == MatmulPrecision::Medium && !cpu_has_bfloat16()) {
    static bool warned = false;
    if (!warned)
      std::fprintf(stderr,
                   "float32_matmul_precision \"medium\": this CPU has no AVX512_BF16, so the "
                   "recurrent layers run in float32\n");
    warned = true;
  }
  g_precision = precision;
}

bool rnn_uses_bfloat16() {
  static const bool has = cpu_has_bfloat16();
  return g_precision == MatmulPrecision::Medium && has;
}

MatmulPrecision matmul_precision_from_name(const std::string& name) {
  if (name == "highest") return MatmulPrecision::Highest;
  if (name == "medium") return MatmulPrecision::Medium;
  throw Error("float32 matmul precision \"" + name + "\": expected \"highest\" or \"medium\"");
}

}  // namespace heed
