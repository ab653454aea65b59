#pragma once
// Scaled dot-product attention (Vaswani et al. 2017, eq. 1): softmax(Q K^T / sqrt(d_k)) V, with
// an optional additive score bias (ALiBi, Press et al. 2022). The free function is the plain
// computation (benchmarks, tests); ScaledDotProductAttention below is the registered
// mechanism "scaled_dot_product", whose siblings replace its normalizer or score.
//
//   q [batch, heads, query, d_k], k [batch, heads, key, d_k], v [batch, heads, key, d_v]
//   -> output [batch, heads, query, d_v], weights [batch, heads, query, key]
//
// Masks hold nonzero where attention is NOT allowed (PyTorch's boolean convention) and broadcast
// against [batch, heads, query, key]: a key-padding mask [batch, key] is passed as
// [batch, 1, 1, key], a causal mask as [query, key]. Masked keys never get weight; a query whose
// every key is masked gets all-zero weights (PyTorch gives NaN there). Dropout applies to the
// weights in training; the weights returned are those before dropout.
// Throws heed::Error naming scaled_dot_product_attention and the shapes when they disagree.
//
//   auto [out, w] = scaled_dot_product_attention(q, k, v, {causal_mask(L, L)}, 0.1f, true, gen);

#include <vector>

#include "layers/attention/mechanism.h"

namespace heed::nn {

/// The registered mechanism "scaled_dot_product": AttentionMechanism's defaults, no options.
class ScaledDotProductAttention : public AttentionMechanism {
 public:
  using AttentionMechanism::AttentionMechanism;
  static AttentionFactory from_config(const Config& options);
};

/// `bias`, when defined, is added to the scaled scores before masking; it broadcasts against
/// [batch, heads, query, key] (ALiBi's [heads, query, key]).
AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const std::vector<Tensor>& masks, float dropout_p,
                                             bool training, Generator& gen,
                                             const Tensor& bias = Tensor());

/// [query, key] mask with 1 above the diagonal: step t attends to steps 0..t only.
Tensor causal_mask(int64_t query, int64_t key);

/// True when `mask` is [query, key] and masks exactly the keys after each query (causal_mask's
/// pattern, in any dtype): the variants that compute causal attention their own way (linear,
/// windowed) recognize it by this. Reads the whole mask.
bool is_causal_mask(const Tensor& mask);

}  // namespace heed::nn
