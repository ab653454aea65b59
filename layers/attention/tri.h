#pragma once
// Tri-Attention (Yu, Li, Lu & Cao 2022, arXiv 2211.02899): the context is a third party of the
// score. Each query i weighs every (key j, context l) pair, and the value it reads is the key's
// value combined with the context:
//   additive:    s_ijl = p^T tanh(q_i + k_j + c_l)                  value v_j + c_l
//   dot:         s_ijl = sum_d q_id k_jd c_ld                        value v_j * c_l (elementwise)
//   scaled_dot:  s_ijl = sum_d q_id k_jd c_ld / sqrt(d_k)            value v_j * c_l
//   trilinear:   s_ijl = sum_abe W_abe q_ia k_jb c_le                value v_j * c_l
//   a_ijl = softmax over all (j, l) of s_ijl,   output_i = sum_jl a_ijl value_jl
// (q, k, c are already projected: the paper's W_q q, W_k k, W_c c are MultiheadAttention's
// projections.) The paper expands Bi-Attention's additive, dot, scaled dot and bilinear scores to
// these four tensor forms; the values' combinations (sum for additive, product otherwise) and the
// joint softmax over (key, context) pairs follow the authors' code (github.com/yurui12138/
// Tri-Attention, SPM/*_models_*.py).
//
//   q [batch, heads, query, d_k], k and c [batch, heads, key, d_k] / [batch, heads, context, d_k],
//   v [batch, heads, key, d_k] (d_v = d_k: the value is multiplied by the context)
//   masks: nonzero = not allowed, each broadcasting to [batch, heads, query, key, context]
//   weight: additive p [heads, d_k, 1]; trilinear W [heads, d_k, d_k * d_k] (W_abe at [a, b*d+e]);
//     undefined for dot and scaled_dot
//   -> output [batch, heads, query, d_k], weights [batch, heads, query, key, context]
// Cost: O(query x key x context x d_k) time, and for additive as much memory (the tanh's
// argument); the others hold [query, key x context] scores. Throws heed::Error naming
// tri_attention and the shapes when they disagree, or an unknown score.
//
// gen draws the dropout (in training with dropout_p > 0 only; may be null otherwise).
//
//   auto [out, w] = tri_attention(q, k, v, c, {}, "scaled_dot", Tensor(), 0.f, false, nullptr);

#include "layers/attention/mechanism.h"

namespace heed::nn {

/// The score names, in the paper's order.
const std::vector<std::string>& tri_attention_scores();

AttentionOutput tri_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& c,
                              const std::vector<Tensor>& masks, const std::string& score,
                              const Tensor& weight, float dropout_p, bool training, Generator* gen);

/// The registered mechanism "tri", option `score` (additive, dot, scaled_dot (default) or
/// trilinear). Inside MultiheadAttention the context is the key sequence itself, projected by its
/// own c_proj_weight (in self-attention: the input, so every query weighs pairs of its
/// sequence's positions); key padding and attn_mask apply to the context axis as to the keys, so a
/// causal Transformer stays causal. Parameters: additive `score_vector` [heads, d_k, 1] (uniform
/// +-1/sqrt(d_k)), trilinear `trilinear_weight` [heads, d_k, d_k * d_k] (uniform
/// +-sqrt(3/d_k^3), so the scores start with unit variance for unit-variance inputs). The weights
/// it returns are [batch, heads, query, key], summed over the context (what inspect, the entropy
/// statistics and the erasure test read).
class TriAttention : public AttentionMechanism {
 public:
  TriAttention(const std::string& score, const HeadShape& shape);
  static AttentionFactory from_config(const Config& options);
  AttentionOutput attend(const Tensor& q, const Tensor& k, const Tensor& v,
                         const AttentionCall& call) const override;
  void reset_parameters(Generator& gen) override;
  bool uses_context() const override { return true; }
  bool takes_score_bias() const override { return false; }
  std::string options_repr() const override { return ", score=" + score_name; }

  const std::string score_name;
  const Tensor weight;  // score_vector or trilinear_weight; undefined for dot and scaled_dot
};

}  // namespace heed::nn
