#pragma once
// Bi-directional attention flow (Seo, Kembhavi, Farhadi & Hajishirzi 2017, "Bidirectional
// Attention Flow for Machine Comprehension", section 2, the attention flow layer): a context
// (passage) h_1..h_T and a query u_1..u_J attend to each other in both directions.
//   similarity   S_tj = w^T [h_t; u_j; h_t * u_j]                               (eq. 1)
//   context-to-query   a_t = softmax_j(S_tj),  u~_t = sum_j a_tj u_j            (eq. 2)
//   query-to-context   b = softmax_t(max_j S_tj),  h~ = sum_t b_t h_t, the same for every t
//   output       g_t = [h_t; u~_t; h_t * u~_t; h_t * h~]                        (eq. 3's beta)
// Parameter: weight [3 * size] (w), uniform +-1/sqrt(3 size); no bias (a constant added to S
// changes neither softmax). S is computed as h w_1 + (u w_2)^T + (h * w_3) u^T, never forming
// the [T, J, 3 size] concatenation.
//
//   context [batch, T, size], query [batch, J, size], context_padding_mask [batch, T] and
//   query_padding_mask [batch, J] (nonzero = padding; undefined = none)
//   -> output [batch, T, 4 size], c2q [batch, T, J] (a), q2c [batch, T] (b)
// `heed inspect` records a as "weights" [batch, 1, T, J].
// Padded query positions get no weight in a, padded context positions none in b (and none of
// their own max_j S); a padded context position's output row is computed like the others and is
// the caller's to ignore. Throws heed::Error naming BiDAFAttention and the shapes when they
// disagree.
//
//   BiDAFAttention flow(128, gen);
//   auto [g, c2q, q2c] = flow.forward(passage, question, passage_mask, question_mask);

#include "framework/module.h"

namespace heed::nn {

struct BiDAFOutput {
  Tensor output, c2q, q2c;
};

class BiDAFAttention : public Module {
 public:
  BiDAFAttention(int64_t size, Generator& gen);
  BiDAFOutput forward(const Tensor& context, const Tensor& query,
                      const Tensor& context_padding_mask = Tensor(),
                      const Tensor& query_padding_mask = Tensor()) const;
  std::string repr() const override;

  const int64_t size;
  Tensor weight;
};

}  // namespace heed::nn
