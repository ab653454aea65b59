#pragma once
// Embedding: a lookup table of vectors (PyTorch's nn.Embedding).
//   ids [...] (int64) -> [..., embedding_dim]; weight [num_embeddings, embedding_dim] ~ N(0, 1),
//   with the row at padding_idx zeroed and never updated.
// Throws heed::Error naming the id when one is out of range.
//
// embedding_dropout (heed's option; PyTorch's nn.Embedding has none): in training, drops whole
// rows of the weight, i.e. whole word types, with one Bernoulli(1 - p) mask m [num_embeddings]
// per forward, scaling the kept rows by 1/(1-p) (Gal & Ghahramani 2016, "A Theoretically Grounded
// Application of Dropout in Recurrent Neural Networks", sec. 4, dropout on the word embeddings;
// Merity et al. 2018, "Regularizing and Optimizing LSTM Language Models", sec. 4.3, AWD-LSTM's
// embedded_dropout, its dropoute):
//   y[..., :] = weight[id, :] * m[id] / (1 - p)
// so every occurrence of a token id in the batch is dropped or kept together, and a dropped row
// gets no gradient from this forward. The mask is drawn from the run's generator (no draw when p
// is 0 or in eval, where the layer is the plain lookup). Only the looked-up ids' mask entries are
// computed, from (key, id): the same numbers as a full [num_embeddings] mask, without its cost.
//
//   nn::Embedding emb(10000, 400, gen, /*padding_idx=*/-1, /*embedding_dropout=*/0.1f);

#include "framework/module.h"

namespace heed {
class Generator;
}

namespace heed::nn {

class Embedding : public Module {
 public:
  /// Throws heed::Error unless num_embeddings, embedding_dim > 0, padding_idx < num_embeddings
  /// and 0 <= embedding_dropout <= 1.
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen, int64_t padding_idx = -1,
            float embedding_dropout = 0.f);
  Tensor forward(const Tensor& ids) const;
  std::string repr() const override;

  const int64_t num_embeddings, embedding_dim, padding_idx;
  const float embedding_dropout;
  Tensor weight;

 private:
  Generator* gen_;
};

/// Learned absolute positions (as BERT and GPT-2): adds weight[t] to step t of x [batch, seq,
/// d_model]. weight [max_len, d_model] ~ N(0, 0.02^2), GPT-2's initialization. Throws when seq >
/// max_len.
class LearnedPositionalEmbedding : public Module {
 public:
  LearnedPositionalEmbedding(int64_t max_len, int64_t d_model, Generator& gen);
  Tensor forward(const Tensor& x) const;
  std::string repr() const override;

  const int64_t max_len, d_model;
  Tensor weight;
};

}  // namespace heed::nn
