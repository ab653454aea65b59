#pragma once
// Scaled dot-product attention (Vaswani et al. 2017, eq. 1): softmax(Q K^T / sqrt(d_k)) V, with
// the softmax replaceable by another score normalizer (ScoreNormalizer below) and an optional
// additive score bias (ALiBi, Press et al. 2022).
//
//   q [batch, heads, query, d_k], k [batch, heads, key, d_k], v [batch, heads, key, d_v]
//   -> output [batch, heads, query, d_v], weights [batch, heads, query, key]
//
// Masks hold nonzero where attention is NOT allowed (PyTorch's boolean convention) and broadcast
// against [batch, heads, query, key]: a key-padding mask [batch, key] is passed as
// [batch, 1, 1, key], a causal mask as [query, key]. Masked keys never get weight, whatever the
// normalizer; a query whose every key is masked gets all-zero weights (PyTorch gives NaN there).
// Dropout applies to the weights in training; the weights returned are those before dropout.
// Throws heed::Error naming scaled_dot_product_attention and the shapes when they disagree.
//
//   auto [out, w] = scaled_dot_product_attention(q, k, v, {causal_mask(L, L)}, 0.1f, true, gen);

#include <string>
#include <vector>

#include "framework/tensor.h"

namespace heed {
class Generator;
}

namespace heed::nn {

struct AttentionOutput {
  Tensor output;
  Tensor weights;
};

/// How a row of scores becomes attention weights.
struct ScoreNormalizer {
  /// "softmax"; "sparsemax" (Martins & Astudillo 2016); "topk" (softmax over the `topk` largest
  /// scores of each query); "hard" (straight-through argmax: one-hot forward, softmax's gradient
  /// backward); "gumbel" (softmax((scores + Gumbel noise) / temperature), Jang et al. 2017, with a
  /// straight-through one-hot when `hard`; no noise in eval mode).
  std::string kind = "softmax";
  int64_t topk = 4;
  float temperature = 1.f;
  bool hard = false;
  /// gumbel only: when defined, this noise [.., query, key] (broadcast to the scores) is used
  /// instead of drawing from the generator, so tests can feed a reference implementation's noise.
  Tensor noise = {};
};

/// The normalizer names that ScoreNormalizer::kind accepts.
const std::vector<std::string>& score_normalizer_names();

/// scores [..., key] (masked entries already -inf) -> weights [..., key]. Throws on an unknown
/// kind, topk < 1 or temperature <= 0.
Tensor normalize_scores(const Tensor& scores, const ScoreNormalizer& normalizer, bool training,
                        Generator& gen);

/// `bias`, when defined, is added to the scaled scores before masking; it broadcasts against
/// [batch, heads, query, key] (ALiBi's [heads, query, key]).
AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const std::vector<Tensor>& masks, float dropout_p,
                                             bool training, Generator& gen,
                                             const Tensor& bias = Tensor(),
                                             const ScoreNormalizer& normalizer = {});

/// [query, key] mask with 1 above the diagonal: step t attends to steps 0..t only.
Tensor causal_mask(int64_t query, int64_t key);

}  // namespace heed::nn
