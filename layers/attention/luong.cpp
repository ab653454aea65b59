#include "layers/attention/luong.h"

#include <cmath>
#include <sstream>

#include "framework/inspect.h"
#include "framework/ops.h"
#include "framework/ops/additive_score.h"
#include "framework/random.h"
#include "layers/attention/additive.h"
#include "layers/dropout.h"

namespace heed::nn {

namespace {

Tensor uniform(const Shape& shape, int64_t fan_in, Generator& gen) {
  const float bound = 1.f / std::sqrt(static_cast<float>(fan_in));
  return Tensor::rand(shape, gen, -bound, bound);
}

// [1 or batch, query_len, key_len] mask, nonzero where |s - p_t| > window.
Tensor window_mask(const Tensor& centers, int64_t key_len, int64_t window) {
  const std::vector<float> p = centers.contiguous().to_vector();
  Tensor mask = Tensor::empty({centers.size(0), centers.size(1), key_len});
  float* m = mask.data();
  for (size_t r = 0; r < p.size(); ++r)
    for (int64_t s = 0; s < key_len; ++s)
      m[static_cast<int64_t>(r) * key_len + s] =
          std::abs(static_cast<float>(s) - p[r]) > static_cast<float>(window) ? 1.f : 0.f;
  return mask;
}

}  // namespace

LuongAttention::LuongAttention(const LuongOptions& o, Generator& gen) : options(o), gen_(&gen) {
  HEED_CHECK(o.score == "dot" || o.score == "general" || o.score == "concat",
             "LuongAttention: unknown score \"", o.score, "\" (dot, general, concat)");
  HEED_CHECK(o.align == "global" || o.align == "local_m" || o.align == "local_p",
             "LuongAttention: unknown align \"", o.align, "\" (global, local_m, local_p)");
  HEED_CHECK(o.query_size > 0 && o.key_size > 0 && o.hidden_size >= 0 && o.window >= 0,
             "LuongAttention: query_size ", o.query_size, ", key_size ", o.key_size,
             ", hidden_size ", o.hidden_size, " and window ", o.window, " must be valid sizes");
  HEED_CHECK(o.score != "dot" || o.query_size == o.key_size,
             "LuongAttention: dot score needs "
             "query_size == key_size, got ",
             o.query_size, " and ", o.key_size);
  check_dropout(o.dropout, "LuongAttention");
  const int64_t hidden = o.hidden_size > 0 ? o.hidden_size : o.query_size;
  if (o.score == "general")
    weight = register_parameter("weight", uniform({o.query_size, o.key_size}, o.key_size, gen));
  if (o.score == "concat") {
    weight = register_parameter(
        "weight", uniform({hidden, o.query_size + o.key_size}, o.query_size + o.key_size, gen));
    v = register_parameter("v", uniform({hidden}, hidden, gen));
  }
  if (o.align == "local_p") {
    position_proj = register_module("position_proj",
                                    std::make_shared<Linear>(o.query_size, hidden, gen, false));
    position_v = register_parameter("position_v", uniform({hidden}, hidden, gen));
  }
}

Tensor LuongAttention::score(const Tensor& query, const Tensor& keys) const {
  if (options.score == "dot") return ops::matmul(query, keys.transpose(-1, -2));
  if (options.score == "general")
    return ops::matmul(ops::matmul(query, weight), keys.transpose(-1, -2));
  // concat: W_a [h_t; h_s] = W_q h_t + W_k h_s, so [query_len, key_len] pairs cost one broadcast.
  const Tensor w_q = weight.narrow(1, 0, options.query_size);
  const Tensor w_k = weight.narrow(1, options.query_size, options.key_size);
  // v^T tanh(W_q h_t + W_k h_s) is additive attention's score, fused (ops/additive_score.h).
  return ops::additive_score(ops::matmul(query, w_q.t()), ops::matmul(keys, w_k.t()), v);
}

AttentionOutput LuongAttention::forward(const Tensor& query, const Tensor& keys,
                                        const Tensor& values, const Tensor& key_padding_mask,
                                        const Tensor& query_offset) const {
  check_attention_inputs("LuongAttention", query, options.query_size, keys, options.key_size,
                         values, key_padding_mask);
  HEED_CHECK(!query_offset.defined() || (query_offset.dtype() == Dtype::Int64 &&
                                         query_offset.shape() == Shape({query.size(0)})),
             "LuongAttention: query_offset must be int64 [batch] = [", query.size(0), "], got ",
             dtype_name(query_offset.dtype()), " ", query_offset.shape());
  const AttentionOutput out = align(query, keys, values, key_padding_mask, query_offset);
  Inspector::record_attention(*this, out.weights);
  return out;
}

AttentionOutput LuongAttention::align(const Tensor& query, const Tensor& keys, const Tensor& values,
                                      const Tensor& key_padding_mask,
                                      const Tensor& query_offset) const {
  const int64_t batch = query.size(0), len_q = query.size(1), len_k = keys.size(1);
  const Tensor scores = score(query, keys);
  if (options.align == "global")
    return attend(scores, values, key_padding_mask, Tensor(), Tensor(), options.dropout,
                  is_training(), *gen_);
  if (options.align == "local_m") {
    // p_t = t + query_offset[b]: [batch, query_len] (or [1, query_len] when every offset is 0).
    const std::vector<int64_t> offsets =
        query_offset.defined() ? query_offset.to_vector_i64() : std::vector<int64_t>{0};
    const int64_t rows = static_cast<int64_t>(offsets.size());
    Tensor centers = Tensor::empty({rows, len_q});
    for (int64_t b = 0; b < rows; ++b)
      for (int64_t t = 0; t < len_q; ++t)
        centers.data()[b * len_q + t] = static_cast<float>(t + offsets[b]);
    return attend(scores, values, key_padding_mask, window_mask(centers, len_k, options.window),
                  Tensor(), options.dropout, is_training(), *gen_);
  }
  // local_p, eq. 9: p_t = S sigmoid(v_p^T tanh(W_p h_t)), S = each sequence's unpadded length.
  Tensor lengths = Tensor::full({batch, 1}, static_cast<float>(len_k));
  if (key_padding_mask.defined()) {
    const Tensor pad = key_padding_mask.to(Dtype::Int64);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t s = 0; s < len_k; ++s)
        if (pad.at_i64({b, s}) != 0) lengths.data()[b] -= 1.f;
  }
  const Tensor hidden = ops::tanh(position_proj->forward(query));
  const Tensor centers =
      lengths * ops::sigmoid(ops::matmul(hidden, position_v.reshape({position_v.size(0), 1}))
                                 .squeeze(-1));  // [batch, query_len]
  // Eq. 10: a Gaussian around p_t with sigma = D / 2.
  const float sigma = static_cast<float>(options.window) / 2.f;
  const Tensor offsets =
      Tensor::arange(len_k).reshape({1, 1, len_k}) - centers.unsqueeze(-1);  // s - p_t
  const Tensor gaussian = ops::exp(offsets * offsets * (-1.f / (2.f * sigma * sigma)));
  return attend(scores, values, key_padding_mask, window_mask(centers, len_k, options.window),
                gaussian, options.dropout, is_training(), *gen_);
}

std::string LuongAttention::repr() const {
  std::ostringstream out;
  out << "LuongAttention(score=" << options.score << ", align=" << options.align
      << ", query_size=" << options.query_size << ", key_size=" << options.key_size;
  if (options.align != "global") out << ", window=" << options.window;
  out << ", dropout=" << options.dropout << ")";
  return out.str();
}

}  // namespace heed::nn

namespace heed::nn {

namespace {

// The factory of LuongAttention with `o` (sizes from the shape; hidden_size 0 = the query's).
AlignmentFactory luong_factory(LuongOptions o) {
  return [o](const AlignmentShape& s, Generator& gen) {
    LuongOptions with = o;
    with.query_size = s.query_size, with.key_size = s.key_size;
    auto m = std::make_shared<LuongAttention>(with, gen);
    return Alignment{m, [m](const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                            const Tensor& offset) { return m->forward(q, k, v, mask, offset); }};
  };
}

LuongOptions global(const Config& c, const std::string& score) {
  LuongOptions o;
  o.score = score;
  o.dropout = c.get<float>("dropout", 0.f, range::probability);
  return o;
}

// local_p's Gaussian has sigma = window / 2: a window of 0 divides by zero (NaN at step 1).
LuongOptions local(const Config& c, const std::string& align) {
  LuongOptions o;
  o.align = align;
  o.score = c.choice("score", "general", {"dot", "general", "concat"});
  o.window = c.get<int64_t>("window", 8, align == "local_p" ? range::size : range::size_or_zero);
  if (align == "local_p" || o.score == "concat" || c.describing())
    o.hidden_size = c.get<int64_t>("hidden_size", 0, range::size_or_zero);
  o.dropout = c.get<float>("dropout", 0.f, range::probability);
  return o;
}

}  // namespace

AlignmentFactory luong_dot_from_config(const Config& c) {
  return luong_factory(global(c, "dot"));
}

AlignmentFactory luong_general_from_config(const Config& c) {
  return luong_factory(global(c, "general"));
}

AlignmentFactory luong_concat_from_config(const Config& c) {
  LuongOptions o = global(c, "concat");
  o.hidden_size = c.get<int64_t>("hidden_size", 0, range::size_or_zero);
  return luong_factory(o);
}

AlignmentFactory local_m_from_config(const Config& c) {
  return luong_factory(local(c, "local_m"));
}

AlignmentFactory local_p_from_config(const Config& c) {
  return luong_factory(local(c, "local_p"));
}

}  // namespace heed::nn
