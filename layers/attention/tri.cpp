#include "layers/attention/tri.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "framework/ops.h"
#include "framework/random.h"

namespace heed::nn {

namespace {

bool is_additive(const std::string& score) {
  return score == "additive";
}

// s_ijl = sum_d q_id k_jd c_ld (times `scale`): (q_i * c_l) . k_j as one matmul over the
// [query x context] rows, then the key axis moved before the context axis.
Tensor dot_scores(const Tensor& q, const Tensor& k, const Tensor& c, float scale) {
  const int64_t b = q.size(0), h = q.size(1), nq = q.size(2), nc = c.size(2), d = q.size(3);
  const Tensor qc =
      (ops::unsqueeze(q * scale, 3) * ops::unsqueeze(c, 2)).reshape({b, h, nq * nc, d});
  return ops::matmul(qc, k.transpose(-1, -2)).reshape({b, h, nq, nc, k.size(2)}).transpose(-1, -2);
}

// s_ijl = sum_abe W_abe q_ia k_jb c_le: M_i = q_i W ([d_b, d_e]), N_i = M_i c^T ([d_b, context]),
// then k_j . N_i[:, l] for every key.
Tensor trilinear_scores(const Tensor& q, const Tensor& k, const Tensor& c, const Tensor& w) {
  const int64_t b = q.size(0), h = q.size(1), nq = q.size(2), nc = c.size(2), d = q.size(3);
  const Tensor m = ops::matmul(q, w.reshape({1, h, d, d * d})).reshape({b, h, nq * d, d});
  const Tensor n = ops::matmul(m, c.transpose(-1, -2)).reshape({b, h, nq, d, nc});
  return ops::matmul(ops::unsqueeze(k, 2), n);
}

// s_ijl = p^T tanh(q_i + k_j + c_l), the [query, key, context, d_k] argument formed whole.
Tensor additive_scores(const Tensor& q, const Tensor& k, const Tensor& c, const Tensor& p) {
  const int64_t b = q.size(0), h = q.size(1), nq = q.size(2), nk = k.size(2), nc = c.size(2),
                d = q.size(3);
  const Tensor sum = q.reshape({b, h, nq, 1, 1, d}) + k.reshape({b, h, 1, nk, 1, d}) +
                     c.reshape({b, h, 1, 1, nc, d});
  return ops::matmul(ops::tanh(sum).reshape({b, h, nq * nk * nc, d}), p.reshape({1, h, d, 1}))
      .reshape({b, h, nq, nk, nc});
}

Tensor scores(const Tensor& q, const Tensor& k, const Tensor& c, const std::string& score,
              const Tensor& weight) {
  if (score == "dot") return dot_scores(q, k, c, 1.f);
  if (score == "scaled_dot")
    return dot_scores(q, k, c, 1.f / std::sqrt(static_cast<float>(q.size(-1))));
  if (score == "trilinear") return trilinear_scores(q, k, c, weight);
  return additive_scores(q, k, c, weight);
}

// sum_jl a_ijl (v_j * c_l) = sum_l c_l * (sum_j a_ijl v_j); additive: sum_jl a_ijl (v_j + c_l).
Tensor read_values(const Tensor& a, const Tensor& v, const Tensor& c, const std::string& score) {
  if (is_additive(score))
    return ops::matmul(ops::sum(a, {-1}), v) + ops::matmul(ops::sum(a, {-2}), c);
  const int64_t b = a.size(0), h = a.size(1), nq = a.size(2), nk = a.size(3), nc = a.size(4);
  const Tensor per_context =
      ops::matmul(a.transpose(-1, -2).reshape({b, h, nq * nc, nk}), v).reshape({b, h, nq, nc, -1});
  return ops::sum(per_context * ops::unsqueeze(c, 2), {3});
}

void check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& c,
                  const std::string& score, const Tensor& weight) {
  const auto& names = tri_attention_scores();
  HEED_CHECK(std::find(names.begin(), names.end(), score) != names.end(), "tri_attention: score \"",
             score, "\" is not one of additive, dot, scaled_dot, trilinear");
  HEED_CHECK(
      q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && c.dim() == 4 && k.shape() == v.shape() &&
          q.size(3) == k.size(3) && c.size(3) == k.size(3) && q.size(0) == k.size(0) &&
          c.size(0) == k.size(0) && q.size(1) == k.size(1) && c.size(1) == k.size(1),
      "tri_attention: q ", q.shape(), ", k ", k.shape(), ", v ", v.shape(), " and c ", c.shape(),
      " are not [batch, heads, query, d_k], [batch, heads, key, d_k] (k and v), "
      "[batch, heads, context, d_k]");
  const int64_t h = q.size(1), d = q.size(3);
  const Shape want = is_additive(score)     ? Shape{h, d, 1}
                     : score == "trilinear" ? Shape{h, d, d * d}
                                            : Shape{};
  HEED_CHECK(want.empty() ? !weight.defined() : weight.defined() && weight.shape() == want,
             "tri_attention: score \"", score, "\" takes a weight of shape ", want, ", got ",
             weight.defined() ? weight.shape() : Shape{});
}

}  // namespace

const std::vector<std::string>& tri_attention_scores() {
  static const std::vector<std::string> names = {"additive", "dot", "scaled_dot", "trilinear"};
  return names;
}

AttentionOutput tri_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& c,
                              const std::vector<Tensor>& masks, const std::string& score,
                              const Tensor& weight, float dropout_p, bool training,
                              Generator* gen) {
  check_inputs(q, k, v, c, score, weight);
  Tensor s = scores(q, k, c, score, weight);
  for (const Tensor& mask : masks)
    if (mask.defined()) s = ops::masked_fill(s, mask, -std::numeric_limits<float>::infinity());
  const Shape pairs = s.shape();
  // One distribution per query over every (key, context) pair.
  const Tensor weights =
      ops::softmax(s.reshape({pairs[0], pairs[1], pairs[2], pairs[3] * pairs[4]}), -1)
          .reshape(pairs);
  AttentionCall call;
  call.dropout = dropout_p, call.training = training, call.gen = gen;
  return {read_values(dropout_weights(weights, call), v, c, score), weights};
}

TriAttention::TriAttention(const std::string& score, const HeadShape& shape)
    : AttentionMechanism(shape),
      score_name(score),
      weight(
          is_additive(score)
              ? add_parameter("score_vector", Tensor::zeros({shape.num_heads, shape.head_dim, 1}))
          : score == "trilinear"
              ? add_parameter("trilinear_weight", Tensor::zeros({shape.num_heads, shape.head_dim,
                                                                 shape.head_dim * shape.head_dim}))
              : Tensor()) {
  const auto& names = tri_attention_scores();
  HEED_CHECK(std::find(names.begin(), names.end(), score) != names.end(),
             "attention \"tri\": score \"", score,
             "\" is not one of additive, dot, scaled_dot, trilinear");
}

void TriAttention::reset_parameters(Generator& gen) {
  if (!weight.defined()) return;
  const auto d = static_cast<float>(shape.head_dim);
  const float bound = is_additive(score_name) ? 1.f / std::sqrt(d) : std::sqrt(3.f / (d * d * d));
  weight.copy_(Tensor::rand(weight.shape(), gen, -bound, bound));
}

AttentionFactory TriAttention::from_config(const Config& c) {
  const std::string score = c.choice("score", "scaled_dot", tri_attention_scores());
  return [score](const HeadShape& s) { return std::make_unique<TriAttention>(score, s); };
}

AttentionOutput TriAttention::attend(const Tensor& q, const Tensor& k, const Tensor& v,
                                     const AttentionCall& call) const {
  HEED_CHECK(call.context.defined() && call.context.dim() == 4 && k.dim() == 4 &&
                 call.context.size(2) == k.size(2),
             "attention \"tri\": its context must be the keys' own projection [batch, heads, key, "
             "d_k], got ",
             call.context.defined() ? call.context.shape() : Shape{}, " beside k ", k.shape());
  // The context is the key sequence: its positions are masked as the keys are.
  const int64_t batch = k.size(0), len = k.size(2);
  std::vector<Tensor> masks;
  if (call.key_padding_mask.defined()) {
    masks.push_back(call.key_padding_mask.reshape({batch, 1, 1, len, 1}));
    masks.push_back(call.key_padding_mask.reshape({batch, 1, 1, 1, len}));
  }
  if (call.attn_mask.defined()) {
    const int64_t len_q = call.attn_mask.size(0);
    masks.push_back(call.attn_mask.reshape({len_q, len, 1}));
    masks.push_back(call.attn_mask.reshape({len_q, 1, len}));
  }
  AttentionOutput a = tri_attention(q, k, v, call.context, masks, score_name, weight, call.dropout,
                                    call.training, call.gen);
  a.weights = call.need_weights ? ops::sum(a.weights, {-1}) : Tensor();
  return a;
}

}  // namespace heed::nn
