#pragma once
// Scaled dot-product attention (Vaswani et al. 2017, eq. 1): softmax(Q K^T / sqrt(d_k)) V.
//
//   q [batch, heads, query, d_k], k [batch, heads, key, d_k], v [batch, heads, key, d_v]
//   -> output [batch, heads, query, d_v], weights [batch, heads, query, key]
//
// Masks hold nonzero where attention is NOT allowed (PyTorch's boolean convention) and broadcast
// against [batch, heads, query, key]: a key-padding mask [batch, key] is passed as
// [batch, 1, 1, key], a causal mask as [query, key]. A query whose every key is masked gets
// all-zero weights (PyTorch gives NaN there). Dropout applies to the weights in training.

#include "framework/tensor.h"

namespace heed {
class Generator;
}

namespace heed::nn {

struct AttentionOutput {
  Tensor output;
  Tensor weights;
};

AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const std::vector<Tensor>& masks, float dropout_p,
                                             bool training, Generator& gen);

/// [query, key] mask with 1 above the diagonal: step t attends to steps 0..t only.
Tensor causal_mask(int64_t query, int64_t key);

}  // namespace heed::nn
