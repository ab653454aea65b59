#include "layers/embedding.h"

#include "framework/ops.h"
#include "framework/random.h"

namespace heed::nn {

Embedding::Embedding(int64_t num, int64_t dim, Generator& gen, int64_t padding)
    : num_embeddings(num), embedding_dim(dim), padding_idx(padding) {
  HEED_CHECK(num > 0 && dim > 0,
             "Embedding: num_embeddings and embedding_dim must be positive, got ", num, " and ",
             dim);
  HEED_CHECK(padding < num, "Embedding: padding_idx ", padding, " must be below num_embeddings ",
             num);
  Tensor w = Tensor::randn({num, dim}, gen);
  if (padding >= 0) w.narrow(0, padding, 1).fill_(0.f);
  weight = register_parameter("weight", w);
}

Tensor Embedding::forward(const Tensor& ids) const {
  return ops::embedding(weight, ids, padding_idx);
}

std::string Embedding::repr() const {
  return "Embedding(" + std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim) +
         (padding_idx >= 0 ? ", padding_idx=" + std::to_string(padding_idx) : "") + ")";
}

LearnedPositionalEmbedding::LearnedPositionalEmbedding(int64_t len, int64_t dim, Generator& gen)
    : max_len(len), d_model(dim) {
  HEED_CHECK(len > 0 && dim > 0,
             "LearnedPositionalEmbedding: max_len and d_model must be positive, got ", len, " and ",
             dim);
  weight = register_parameter("weight", Tensor::randn({len, dim}, gen) * 0.02f);
}

Tensor LearnedPositionalEmbedding::forward(const Tensor& x) const {
  HEED_CHECK(x.dim() == 3 && x.size(2) == d_model, "LearnedPositionalEmbedding: input of shape ",
             x.shape(), ", expected [batch, seq, ", d_model, "]");
  HEED_CHECK(x.size(1) <= max_len, "LearnedPositionalEmbedding: sequence of length ", x.size(1),
             " exceeds max_len=", max_len);
  return x + weight.narrow(0, 0, x.size(1));
}

std::string LearnedPositionalEmbedding::repr() const {
  return "LearnedPositionalEmbedding(max_len=" + std::to_string(max_len) +
         ", d_model=" + std::to_string(d_model) + ")";
}

}  // namespace heed::nn
