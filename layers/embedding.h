#pragma once
// Embedding: a lookup table of vectors (PyTorch's nn.Embedding).
//   ids [...] (int64) -> [..., embedding_dim]; weight [num_embeddings, embedding_dim] ~ N(0, 1),
//   with the row at padding_idx zeroed and never updated.
// Throws heed::Error naming the id when one is out of range.

#include "framework/module.h"

namespace heed {
class Generator;
}

namespace heed::nn {

class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen,
            int64_t padding_idx = -1);
  Tensor forward(const Tensor& ids) const;
  std::string repr() const override;

  const int64_t num_embeddings, embedding_dim, padding_idx;
  Tensor weight;
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
