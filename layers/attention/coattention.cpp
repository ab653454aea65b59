#include "layers/attention/coattention.h"

#include <limits>
#include <vector>

#include "framework/inspect.h"
#include "framework/ops.h"
#include "framework/random.h"

namespace heed::nn {

namespace {

// [sentinel; x]: x [batch, len, size] with the sentinel [size] as position 0.
Tensor with_sentinel(const Tensor& x, const Tensor& sentinel) {
  return ops::concat(
      {ops::expand(sentinel.reshape({1, 1, x.size(2)}), {x.size(0), 1, x.size(2)}), x}, 1);
}

// A padding mask [batch, len] for the positions after a sentinel: [batch, 1 + len], the
// sentinel's column 0 (never masked).
Tensor sentinel_mask(const Tensor& mask) {
  const int64_t batch = mask.size(0), len = mask.size(1);
  std::vector<float> flags;
  if (mask.dtype() == Dtype::Int64)
    for (const int64_t v : mask.to_vector_i64()) flags.push_back(v != 0);
  else
    for (const float v : mask.to_vector()) flags.push_back(v != 0.f);
  Tensor out = Tensor::zeros({batch, len + 1});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < len; ++j) out.data()[b * (len + 1) + 1 + j] = flags[b * len + j];
  return out;
}

void check_inputs(const Tensor& document, const Tensor& question, int64_t size,
                  const Tensor& document_padding_mask, const Tensor& question_padding_mask) {
  HEED_CHECK(document.dim() == 3 && question.dim() == 3 && document.size(2) == size &&
                 question.size(2) == size && document.size(0) == question.size(0),
             "Coattention: document ", document.shape(), " and question ", question.shape(),
             " are not [batch, m, ", size, "] and [batch, n, ", size, "]");
  const int64_t batch = document.size(0);
  HEED_CHECK(!document_padding_mask.defined() ||
                 document_padding_mask.shape() == Shape({batch, document.size(1)}),
             "Coattention: document_padding_mask of shape ",
             document_padding_mask.defined() ? document_padding_mask.shape() : Shape{},
             ", expected ", Shape({batch, document.size(1)}));
  HEED_CHECK(!question_padding_mask.defined() ||
                 question_padding_mask.shape() == Shape({batch, question.size(1)}),
             "Coattention: question_padding_mask of shape ",
             question_padding_mask.defined() ? question_padding_mask.shape() : Shape{},
             ", expected ", Shape({batch, question.size(1)}));
}

}  // namespace

Coattention::Coattention(int64_t size, Generator& gen) : size(size) {
  HEED_CHECK(size > 0, "Coattention: size must be positive, got ", size);
  query_proj = register_module("query_proj", std::make_shared<Linear>(size, size, gen));
  document_sentinel = register_parameter("document_sentinel", Tensor::randn({size}, gen) * 0.1f);
  query_sentinel = register_parameter("query_sentinel", Tensor::randn({size}, gen) * 0.1f);
}

CoattentionOutput Coattention::forward(const Tensor& document, const Tensor& question,
                                       const Tensor& document_padding_mask,
                                       const Tensor& question_padding_mask) const {
  check_inputs(document, question, size, document_padding_mask, question_padding_mask);
  const int64_t batch = document.size(0), m = document.size(1), n = question.size(1);
  const Tensor d = with_sentinel(document, document_sentinel);  // [batch, m + 1, size]
  const Tensor q = with_sentinel(ops::tanh(query_proj->forward(question)), query_sentinel);
  const Tensor affinity = ops::matmul(d, q.transpose(1, 2));  // L [batch, m + 1, n + 1]
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  Tensor over_document = affinity, over_question = affinity;
  if (document_padding_mask.defined())
    over_document = ops::masked_fill(
        affinity, sentinel_mask(document_padding_mask).reshape({batch, m + 1, 1}), kNegInf);
  if (question_padding_mask.defined())
    over_question = ops::masked_fill(
        affinity, sentinel_mask(question_padding_mask).reshape({batch, 1, n + 1}), kNegInf);
  const Tensor a_q = ops::softmax(over_document, 1);       // columns: distributions over documents
  const Tensor a_d = ops::softmax(over_question, 2);       // rows: distributions over the question
  const Tensor c_q = ops::matmul(a_q.transpose(1, 2), d);  // [batch, n + 1, size]
  const Tensor c_d = ops::matmul(a_d, ops::concat({q, c_q}, 2));  // [batch, m + 1, 2 size]
  Inspector::record_attention(*this, a_d.reshape({batch, 1, m + 1, n + 1}));
  return {c_d.narrow(1, 1, m), a_q, a_d};
}

std::string Coattention::repr() const {
  return "Coattention(size=" + std::to_string(size) + ")";
}

}  // namespace heed::nn
