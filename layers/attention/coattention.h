#pragma once
// The coattention encoder of the Dynamic Coattention Network (Xiong, Zhong & Socher 2017,
// "Dynamic Coattention Networks for Question Answering", section 2.2): a document d_1..d_m and a
// question attend to each other at once, and the document reads the question's attention over
// itself back.
//   question     q_j = tanh(W q'_j + b)                      (the non-linear projection)
//   sentinels    d_0, q_0: learned vectors appended to both, so that a word can attend to nothing
//   affinity     L_ij = d_i . q_j                            (L = D^T Q)
//   A^Q = softmax over the document of L  (a distribution over d_0..d_m per question word)
//   A^D = softmax over the question of L  (a distribution over q_0..q_n per document word)
//   C^Q_j = sum_i A^Q_ij d_i                                 (the document summarized per q_j)
//   C^D_i = sum_j A^D_ij [q_j; C^Q_j]                        (the coattention context)
// The paper then runs a BiLSTM over [d_i; C^D_i]; this layer returns C^D for the m real document
// positions (the sentinel's row dropped, as the paper's U = [u_1..u_m]).
// Parameters: query_proj.weight [size, size] and query_proj.bias [size] (W, b: PyTorch's Linear
// initialization), document_sentinel [size] and query_sentinel [size] (N(0, 0.1^2)).
//
//   document [batch, m, size], question [batch, n, size], document_padding_mask [batch, m] and
//   question_padding_mask [batch, n] (nonzero = padding; undefined = none)
//   -> output [batch, m, 2 size] (C^D), document_weights [batch, m + 1, n + 1] (A^Q, each column
//   a distribution over the sentinel and the document), question_weights [batch, m + 1, n + 1]
//   (A^D, each row a distribution over the sentinel and the question)
// `heed inspect` records A^D as "weights" [batch, 1, m + 1, n + 1].
// Padded positions get no weight; the sentinels are never masked. Throws heed::Error naming
// Coattention and the shapes when they disagree.
//
//   Coattention coattention(200, gen);
//   auto [c_d, a_q, a_d] = coattention.forward(document, question, doc_mask, question_mask);

#include "framework/module.h"
#include "layers/linear.h"

namespace heed::nn {

struct CoattentionOutput {
  Tensor output, document_weights, question_weights;
};

class Coattention : public Module {
 public:
  Coattention(int64_t size, Generator& gen);
  CoattentionOutput forward(const Tensor& document, const Tensor& question,
                            const Tensor& document_padding_mask = Tensor(),
                            const Tensor& question_padding_mask = Tensor()) const;
  std::string repr() const override;

  const int64_t size;
  std::shared_ptr<Linear> query_proj;
  Tensor document_sentinel, query_sentinel;
};

}  // namespace heed::nn
