#include "layers/attention/additive.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "framework/inspect.h"
#include "framework/ops.h"
#include "framework/ops/additive_score.h"
#include "framework/random.h"
#include "layers/dropout.h"

namespace heed::nn {

void check_attention_inputs(const char* layer, const Tensor& query, int64_t query_size,
                            const Tensor& keys, int64_t key_size, const Tensor& values,
                            const Tensor& key_padding_mask) {
  HEED_CHECK(query.dim() == 3 && keys.dim() == 3 && values.dim() == 3 &&
                 query.size(2) == query_size && keys.size(2) == key_size &&
                 keys.size(0) == query.size(0) && values.size(0) == keys.size(0) &&
                 values.size(1) == keys.size(1),
             layer, ": query ", query.shape(), ", keys ", keys.shape(), " and values ",
             values.shape(), " are not [batch, query_len, ", query_size, "], [batch, key_len, ",
             key_size, "], [batch, key_len, value_size]");
  HEED_CHECK(!key_padding_mask.defined() ||
                 key_padding_mask.shape() == Shape({keys.size(0), keys.size(1)}),
             layer, ": key_padding_mask of shape ",
             key_padding_mask.defined() ? key_padding_mask.shape() : Shape{}, ", expected ",
             Shape({keys.size(0), keys.size(1)}));
}

AttentionOutput attend(const Tensor& scores, const Tensor& values, const Tensor& key_padding_mask,
                       const Tensor& extra_mask, const Tensor& gaussian, float dropout,
                       bool training, Generator& gen) {
  const float inf = std::numeric_limits<float>::infinity();
  const int64_t batch = scores.size(0), len_q = scores.size(1), len_k = scores.size(2);
  Tensor s = scores;
  if (key_padding_mask.defined())
    s = ops::masked_fill(s, key_padding_mask.reshape({batch, 1, len_k}), -inf);
  if (extra_mask.defined()) s = ops::masked_fill(s, extra_mask, -inf);
  Tensor weights = ops::softmax(s, -1);
  if (gaussian.defined()) weights = weights * gaussian;
  const Tensor context = ops::matmul(ops::dropout(weights, dropout, training, gen), values);
  return {context, weights.reshape({batch, 1, len_q, len_k})};
}

AdditiveAttention::AdditiveAttention(int64_t q, int64_t k, int64_t h, float p, Generator& gen)
    : query_size(q), key_size(k), hidden_size(h), dropout(p), gen_(&gen) {
  HEED_CHECK(q > 0 && k > 0 && h > 0, "AdditiveAttention: query_size ", q, ", key_size ", k,
             " and hidden_size ", h, " must be positive");
  check_dropout(p, "AdditiveAttention");
  query_proj = register_module("query_proj", std::make_shared<Linear>(q, h, gen, false));
  key_proj = register_module("key_proj", std::make_shared<Linear>(k, h, gen, false));
  const float bound = 1.f / std::sqrt(static_cast<float>(h));
  v = register_parameter("v", Tensor::rand({h}, gen, -bound, bound));
}

AttentionOutput AdditiveAttention::forward(const Tensor& query, const Tensor& keys,
                                           const Tensor& values,
                                           const Tensor& key_padding_mask) const {
  check_attention_inputs("AdditiveAttention", query, query_size, keys, key_size, values,
                         key_padding_mask);
  return forward_projected(query, key_proj->forward(keys), values, key_padding_mask);
}

Tensor AdditiveAttention::project_keys(const Tensor& keys) const {
  HEED_CHECK(keys.dim() == 3 && keys.size(2) == key_size, "AdditiveAttention: keys ", keys.shape(),
             " are not [batch, key_len, ", key_size, "]");
  return key_proj->forward(keys);
}

AttentionOutput AdditiveAttention::forward_projected(const Tensor& query,
                                                     const Tensor& projected_keys,
                                                     const Tensor& values,
                                                     const Tensor& key_padding_mask) const {
  check_attention_inputs("AdditiveAttention", query, query_size, projected_keys, hidden_size,
                         values, key_padding_mask);
  // e_ij = v^T tanh(W q_i + U k_j): [batch, query_len, key_len], one fused op
  const Tensor scores = ops::additive_score(query_proj->forward(query), projected_keys, v);
  const AttentionOutput out =
      attend(scores, values, key_padding_mask, Tensor(), Tensor(), dropout, is_training(), *gen_);
  Inspector::record_attention(*this, out.weights);
  return out;
}

std::string AdditiveAttention::repr() const {
  std::ostringstream out;
  out << "AdditiveAttention(query_size=" << query_size << ", key_size=" << key_size
      << ", hidden_size=" << hidden_size << ", dropout=" << dropout << ")";
  return out.str();
}

}  // namespace heed::nn

namespace heed::nn {

AlignmentFactory additive_alignment_from_config(const Config& c) {
  const int64_t hidden = c.get<int64_t>("hidden_size", 0, range::size_or_zero);
  const float dropout = c.get<float>("dropout", 0.f, range::probability);
  return [hidden, dropout](const AlignmentShape& s, Generator& gen) {
    auto m = std::make_shared<AdditiveAttention>(s.query_size, s.key_size,
                                                 hidden > 0 ? hidden : s.query_size, dropout, gen);
    Alignment a;
    a.module = m;
    a.forward = [m](const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                    const Tensor&) { return m->forward(q, k, v, mask); };
    a.bind_keys = [m](const Tensor& keys, const Tensor& values, const Tensor& mask) {
      return [m, projected = m->project_keys(keys), values, mask](const Tensor& q, int64_t,
                                                                  const Tensor&) {
        return m->forward_projected(q, projected, values, mask);
      };
    };
    return a;
  };
}

}  // namespace heed::nn
