#include "layers/attention/bidaf.h"

#include <cmath>
#include <limits>

#include "framework/inspect.h"
#include "framework/ops.h"
#include "framework/random.h"

namespace heed::nn {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void check_inputs(const Tensor& context, const Tensor& query, int64_t size,
                  const Tensor& context_padding_mask, const Tensor& query_padding_mask) {
  HEED_CHECK(context.dim() == 3 && query.dim() == 3 && context.size(2) == size &&
                 query.size(2) == size && context.size(0) == query.size(0),
             "BiDAFAttention: context ", context.shape(), " and query ", query.shape(),
             " are not [batch, T, ", size, "] and [batch, J, ", size, "]");
  const int64_t batch = context.size(0);
  HEED_CHECK(!context_padding_mask.defined() ||
                 context_padding_mask.shape() == Shape({batch, context.size(1)}),
             "BiDAFAttention: context_padding_mask of shape ",
             context_padding_mask.defined() ? context_padding_mask.shape() : Shape{}, ", expected ",
             Shape({batch, context.size(1)}));
  HEED_CHECK(
      !query_padding_mask.defined() || query_padding_mask.shape() == Shape({batch, query.size(1)}),
      "BiDAFAttention: query_padding_mask of shape ",
      query_padding_mask.defined() ? query_padding_mask.shape() : Shape{}, ", expected ",
      Shape({batch, query.size(1)}));
}

}  // namespace

BiDAFAttention::BiDAFAttention(int64_t size, Generator& gen) : size(size) {
  HEED_CHECK(size > 0, "BiDAFAttention: size must be positive, got ", size);
  const float bound = 1.f / std::sqrt(3.f * static_cast<float>(size));
  weight = register_parameter("weight", Tensor::rand({3 * size}, gen, -bound, bound));
}

BiDAFOutput BiDAFAttention::forward(const Tensor& context, const Tensor& query,
                                    const Tensor& context_padding_mask,
                                    const Tensor& query_padding_mask) const {
  check_inputs(context, query, size, context_padding_mask, query_padding_mask);
  const int64_t batch = context.size(0), len_c = context.size(1), len_q = query.size(1);
  const std::vector<Tensor> w = ops::split(weight, {size, size, size}, 0);
  // S_tj = h_t . w_1 + u_j . w_2 + (h_t * w_3) . u_j
  Tensor s = ops::matmul(context, w[0].reshape({size, 1})) +
             ops::matmul(query, w[1].reshape({size, 1})).transpose(1, 2) +
             ops::matmul(context * w[2], query.transpose(1, 2));
  if (query_padding_mask.defined())
    s = ops::masked_fill(s, query_padding_mask.reshape({batch, 1, len_q}), kNegInf);
  const Tensor c2q = ops::softmax(s, -1);
  const Tensor attended_query = ops::matmul(c2q, query);  // u~ [batch, T, size]
  Tensor best = ops::max(s, -1);                          // max_j S_tj [batch, T]
  if (context_padding_mask.defined()) best = ops::masked_fill(best, context_padding_mask, kNegInf);
  const Tensor q2c = ops::softmax(best, -1);
  const Tensor attended_context =  // h~ [batch, 1, size], the same for every t
      ops::matmul(q2c.reshape({batch, 1, len_c}), context);
  Inspector::record_attention(*this, c2q.reshape({batch, 1, len_c, len_q}));
  return {ops::concat(
              {context, attended_query, context * attended_query, context * attended_context}, -1),
          c2q, q2c};
}

std::string BiDAFAttention::repr() const {
  return "BiDAFAttention(size=" + std::to_string(size) + ")";
}

}  // namespace heed::nn
