#pragma once
// Additive attention (Bahdanau, Cho & Bengio 2015, "Neural Machine Translation by Jointly Learning
// to Align and Translate", appendix A.1.2 / eq. 6):
//   e_ij = v^T tanh(W q_i + U k_j),  alpha_ij = softmax_j(e_ij),  c_i = sum_j alpha_ij v_j
// Parameters: query_proj.weight [hidden_size, query_size] (W), key_proj.weight
// [hidden_size, key_size] (U), both Linear without bias as in the paper; v [hidden_size]
// ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
//   query [batch, query_len, query_size], keys [batch, key_len, key_size],
//   values [batch, key_len, value_size], key_padding_mask [batch, key_len] (nonzero = padding,
//   undefined = none)
//   -> output [batch, query_len, value_size], weights [batch, 1, query_len, key_len]
// Dropout applies to the weights in training. A decoder calls it with query_len = 1 per step, and
// since U k_j does not depend on the query it projects the keys once per sequence (the paper's
// appendix A.1.2 notes the same) and calls forward_projected at every step.
// Throws heed::Error naming AdditiveAttention and the shapes when they disagree.
//
//   AdditiveAttention attn(128, 128, 64, 0.f, gen);
//   auto [context, weights] = attn.forward(h_last, outputs, outputs);
//   const Tensor keys = attn.project_keys(outputs);  // once, then per step:
//   auto [context_t, weights_t] = attn.forward_projected(h_t, keys, outputs);

#include "framework/module.h"
#include "layers/attention/alignment.h"
#include "layers/attention/scaled_dot_product.h"
#include "layers/linear.h"

namespace heed::nn {

class AdditiveAttention : public Module {
 public:
  AdditiveAttention(int64_t query_size, int64_t key_size, int64_t hidden_size, float dropout,
                    Generator& gen);
  AttentionOutput forward(const Tensor& query, const Tensor& keys, const Tensor& values,
                          const Tensor& key_padding_mask = Tensor()) const;
  /// U k_j: keys [batch, key_len, key_size] -> [batch, key_len, hidden_size].
  Tensor project_keys(const Tensor& keys) const;
  /// forward with the keys already through project_keys: projected_keys [batch, key_len,
  /// hidden_size]; the same result as forward(query, keys, values, key_padding_mask).
  AttentionOutput forward_projected(const Tensor& query, const Tensor& projected_keys,
                                    const Tensor& values,
                                    const Tensor& key_padding_mask = Tensor()) const;
  std::string repr() const override;

  const int64_t query_size, key_size, hidden_size;
  const float dropout;
  std::shared_ptr<Linear> query_proj, key_proj;
  Tensor v;

 private:
  Generator* gen_;
};

/// The registered alignment "additive" (alignment.h): options hidden_size (0: the query's width)
/// and dropout on the weights; Alignment::bind projects the keys once (project_keys).
AlignmentFactory additive_alignment_from_config(const Config& c);

/// Shared by the single-head attentions (additive, Luong): [batch, len, size] checks with the
/// layer's name, the padding mask as [batch, 1, 1, key_len], and the softmax + dropout + values
/// tail. scores [batch, query_len, key_len]; extra_masks broadcast to it.
void check_attention_inputs(const char* layer, const Tensor& query, int64_t query_size,
                            const Tensor& keys, int64_t key_size, const Tensor& values,
                            const Tensor& key_padding_mask);
AttentionOutput attend(const Tensor& scores, const Tensor& values, const Tensor& key_padding_mask,
                       const Tensor& extra_mask, const Tensor& gaussian, float dropout,
                       bool training, Generator& gen);

}  // namespace heed::nn
