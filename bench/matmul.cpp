// matmul_peak: one fp32 matmul M = N = K through ops::matmul, in GFLOP/s and % of the documented
// fp32 peak (BENCHMARKS.md: 128 GFLOP/s per core).

#include "bench/bench.h"
#include "framework/ops.h"
#include "framework/random.h"

namespace heed::bench {

void matmul_peak(const Args& a) {
  Generator gen(a.seed);
  for (int64_t n : {1024, 2048}) {
    const Tensor x = Tensor::randn({n, n}, gen), y = Tensor::randn({n, n}, gen);
    const double ms = median_ms(a, [&] { ops::matmul(x, y); });
    const double gflops = 2.0 * n * n * n / (ms * 1e6);
    print(a, ms, gflops, "GFLOP/s",
          {{"n", n}, {"pct_of_peak", 100.0 * gflops / (128.0 * a.threads)}});
  }
}

}  // namespace heed::bench
