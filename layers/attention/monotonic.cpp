#include "layers/attention/monotonic.h"

#include <cmath>
#include <sstream>
#include <vector>

#include "framework/autograd.h"
#include "framework/ops.h"
#include "framework/random.h"

namespace heed::nn {

namespace {

// [batch, key_len] float, 1 at padded entries (zeros without a mask).
Tensor padding_flags(const Tensor& mask, int64_t batch, int64_t len) {
  Tensor flags = Tensor::zeros({batch, len});
  if (!mask.defined()) return flags;
  const std::vector<int64_t> m =
      mask.dtype() == Dtype::Int64 ? mask.to_vector_i64() : std::vector<int64_t>();
  const std::vector<float> mf =
      mask.dtype() == Dtype::Int64 ? std::vector<float>() : mask.to_vector();
  for (int64_t i = 0; i < batch * len; ++i)
    flags.data()[i] = (m.empty() ? mf[i] != 0.f : m[i] != 0) ? 1.f : 0.f;
  return flags;
}

}  // namespace

MonotonicAttention::MonotonicAttention(int64_t q, int64_t k, int64_t h, float noise_std,
                                       Generator& gen)
    : query_size(q), key_size(k), hidden_size(h), noise(noise_std), gen_(&gen) {
  HEED_CHECK(q > 0 && k > 0 && h > 0 && noise_std >= 0.f, "MonotonicAttention: query_size ", q,
             ", key_size ", k, " and hidden_size ", h, " must be positive and noise ", noise_std,
             " not negative");
  query_proj = register_module("query_proj", std::make_shared<Linear>(q, h, gen, false));
  key_proj = register_module("key_proj", std::make_shared<Linear>(k, h, gen));
  const float bound = 1.f / std::sqrt(static_cast<float>(h));
  v = register_parameter("v", Tensor::rand({h}, gen, -bound, bound));
  g = register_parameter("g", Tensor::full({1}, bound));
  r = register_parameter("r", Tensor::full({1}, -1.f));
}

Tensor MonotonicAttention::energy(const Tensor& query, const Tensor& keys) const {
  const int64_t batch = query.size(0), len_q = query.size(1), len_k = keys.size(1);
  const Tensor wq = query_proj->forward(query).reshape({batch, len_q, 1, hidden_size});
  const Tensor uk = key_proj->forward(keys).reshape({batch, 1, len_k, hidden_size});
  const Tensor unit_v = v / ops::sqrt(ops::sum(v * v));
  const Tensor scores = ops::matmul(ops::tanh(wq + uk), unit_v.reshape({hidden_size, 1}));
  return scores.reshape({batch, len_q, len_k}) * g + r;
}

Tensor MonotonicAttention::expected_step(const Tensor& e, const Tensor& previous,
                                         const Tensor& padding) const {
  const Tensor noisy = noise > 0.f ? e + Tensor::randn(e.shape(), *gen_) * noise : e;
  return ops::monotonic_alignment(ops::masked_fill(ops::sigmoid(noisy), padding, 0.f), previous);
}

// Algorithm 1 of Raffel et al.: from the previous stop (the one-hot's entry), the first entry
// whose energy is >= 0; a row that ran off the end stays empty.
Tensor MonotonicAttention::hard_step(const Tensor& e, const Tensor& previous,
                                     const Tensor& padding) const {
  const int64_t batch = e.size(0), len = e.size(1);
  const std::vector<float> ev = e.to_vector(), pv = previous.to_vector(), pad = padding.to_vector();
  Tensor out = Tensor::zeros({batch, len});
  for (int64_t b = 0; b < batch; ++b) {
    int64_t start = len;
    for (int64_t j = 0; j < len; ++j)
      if (pv[b * len + j] > 0.5f) {
        start = j;
        break;
      }
    for (int64_t j = start; j < len; ++j)
      if (pad[b * len + j] == 0.f && ev[b * len + j] >= 0.f) {
        out.data()[b * len + j] = 1.f;
        break;
      }
  }
  return out;
}

AttentionOutput MonotonicAttention::forward(const Tensor& query, const Tensor& keys,
                                            const Tensor& values, const Tensor& key_padding_mask,
                                            const Tensor& previous) const {
  HEED_CHECK(query.dim() == 3 && keys.dim() == 3 && values.dim() == 3 &&
                 query.size(2) == query_size && keys.size(2) == key_size &&
                 keys.size(0) == query.size(0) && values.size(0) == query.size(0) &&
                 values.size(1) == keys.size(1),
             "MonotonicAttention: query ", query.shape(), ", keys ", keys.shape(), " and values ",
             values.shape(), " are not [batch, query_len, ", query_size, "], [batch, key_len, ",
             key_size, "], [batch, key_len, value_size]");
  const int64_t batch = query.size(0), len_q = query.size(1), len_k = keys.size(1);
  HEED_CHECK(!key_padding_mask.defined() || key_padding_mask.shape() == Shape({batch, len_k}),
             "MonotonicAttention: key_padding_mask of shape ",
             key_padding_mask.defined() ? key_padding_mask.shape() : Shape{}, ", expected ",
             Shape({batch, len_k}));
  HEED_CHECK(!previous.defined() || previous.numel() == batch * len_k,
             "MonotonicAttention: previous weights of shape ",
             previous.defined() ? previous.shape() : Shape{}, ", expected ",
             Shape({batch, 1, 1, len_k}));
  const Tensor padding = padding_flags(key_padding_mask, batch, len_k);
  Tensor alpha = previous.defined() ? previous.reshape({batch, len_k}) : Tensor();
  if (!alpha.defined()) {  // alpha_0: the scan starts at the first entry
    alpha = Tensor::zeros({batch, len_k});
    for (int64_t b = 0; b < batch; ++b) alpha.data()[b * len_k] = 1.f;
  }
  const Tensor e = energy(query, keys);
  std::vector<Tensor> steps;
  for (int64_t t = 0; t < len_q; ++t) {
    const Tensor e_t = e.select(1, t);
    if (is_training()) {
      alpha = expected_step(e_t, alpha, padding);
    } else {
      NoGradGuard no_grad;
      alpha = hard_step(e_t, alpha, padding);
    }
    steps.push_back(alpha);
  }
  const Tensor weights = ops::stack(steps, 1);  // [batch, query_len, key_len]
  return {ops::matmul(weights, values), weights.reshape({batch, 1, len_q, len_k})};
}

std::string MonotonicAttention::repr() const {
  std::ostringstream out;
  out << "MonotonicAttention(query_size=" << query_size << ", key_size=" << key_size
      << ", hidden_size=" << hidden_size << ", noise=" << noise << ")";
  return out.str();
}

AlignmentFactory monotonic_alignment_from_config(const Config& c) {
  const int64_t hidden = c.get<int64_t>("hidden_size", 0, range::size_or_zero);
  const float noise = c.get<float>("noise", 1.f, Range::at_least(0));
  return [hidden, noise](const AlignmentShape& s, Generator& gen) {
    auto m = std::make_shared<MonotonicAttention>(s.query_size, s.key_size,
                                                  hidden > 0 ? hidden : s.query_size, noise, gen);
    Alignment a;
    a.module = m;
    a.forward = [m](const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                    const Tensor&) { return m->forward(q, k, v, mask, Tensor()); };
    // Each step continues from the weights of the step before, which the decoder passes back.
    a.bind_keys = [m](const Tensor& keys, const Tensor& values, const Tensor& mask) {
      return [m, keys, values, mask](const Tensor& q, int64_t, const Tensor& previous) {
        return m->forward(q, keys, values, mask, previous);
      };
    };
    return a;
  };
}

}  // namespace heed::nn
