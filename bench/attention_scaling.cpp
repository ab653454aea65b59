// Attention alone, forward + backward, as the sequence grows (bench/README.md's scaling contract,
// bench/pytorch_reference.py's `scaling`): batch 8, 4 heads, head dim 32, seq 128..2048 doubling;
// one line per seq, then the growth exponent fitted to log(ms) over log(seq).
//   sdpa_scaling:               nn::scaled_dot_product_attention (quadratic);
//   linear_attn_scaling:        nn::linear_attention, non-causal, as PyTorch's reference times it;
//   causal_linear_attn_scaling: nn::linear_attention, causal (the fused running-sum op); heed only.
//   banded_attn_scaling:        the windowed mechanism's band path
//   (framework/ops/band_attention.h),
//                               window 32 each side (65 keys per query), seq 128..4096; heed only
//                               (PyTorch has no banded attention that skips the masked scores).

#include <cmath>
#include <iostream>
#include <vector>

#include "bench/bench.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "layers/attention/linear.h"
#include "layers/attention/scaled_dot_product.h"
#include "layers/attention/windowed.h"

namespace heed::bench {

namespace {

using AttentionFn = std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>;

void scaling(const Args& a, const AttentionFn& attention,
             const std::vector<int64_t>& seqs = {128, 256, 512, 1024, 2048}) {
  std::vector<double> log_seq, log_ms;
  Generator gen(a.seed);
  for (const int64_t s : seqs) {
    Tensor q = Tensor::randn({8, 4, s, 32}, gen).requires_grad_();
    Tensor k = Tensor::randn({8, 4, s, 32}, gen).requires_grad_();
    Tensor v = Tensor::randn({8, 4, s, 32}, gen).requires_grad_();
    const Tensor grad_out = Tensor::randn({8, 4, s, 32}, gen);
    const double ms = median_ms(a, [&] {
      for (const Tensor& t : {q, k, v}) t.set_grad(Tensor());
      attention(q, k, v).backward(grad_out);
    });
    print(a, ms, 1000.0 / ms, "steps/s", {{"seq", s}});
    log_seq.push_back(std::log(static_cast<double>(s)));
    log_ms.push_back(std::log(ms));
  }
  // Least-squares slope of log(ms) on log(seq).
  double mx = 0, my = 0;
  for (size_t i = 0; i < seqs.size(); ++i) mx += log_seq[i], my += log_ms[i];
  mx /= static_cast<double>(seqs.size()), my /= static_cast<double>(seqs.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    num += (log_seq[i] - mx) * (log_ms[i] - my);
    den += (log_seq[i] - mx) * (log_seq[i] - mx);
  }
  nlohmann::json line = {{"workload", a.workload},       {"impl", "heed"},
                         {"threads", a.threads},         {"step_ms_median", nullptr},
                         {"throughput", num / den},      {"unit", "growth_exponent"},
                         {"peak_rss_mb", peak_rss_mb()}, {"seqs", seqs}};
  std::cout << line.dump() << std::endl;
}

}  // namespace

void sdpa_scaling(const Args& a) {
  Generator gen(a.seed);
  scaling(a, [&gen](const Tensor& q, const Tensor& k, const Tensor& v) {
    return nn::scaled_dot_product_attention(q, k, v, {}, 0.f, false, gen).output;
  });
}

void linear_attn_scaling(const Args& a) {
  scaling(a, [](const Tensor& q, const Tensor& k, const Tensor& v) {
    return nn::linear_attention(q, k, v, Tensor(), false, false).output;
  });
}

void causal_linear_attn_scaling(const Args& a) {
  scaling(a, [](const Tensor& q, const Tensor& k, const Tensor& v) {
    return nn::linear_attention(q, k, v, Tensor(), true, false).output;
  });
}

void banded_attn_scaling(const Args& a) {
  const nn::WindowedAttention windowed({.window = 32}, nn::HeadShape{.num_heads = 4});
  nn::AttentionCall call;
  call.need_weights = false;
  scaling(a,
          [&](const Tensor& q, const Tensor& k, const Tensor& v) {
            return windowed.attend(q, k, v, call).output;
          },
          {128, 256, 512, 1024, 2048, 4096});
}

}  // namespace heed::bench
