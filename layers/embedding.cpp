#include "layers/embedding.h"

#include <sstream>

#include "framework/ops.h"
#include "framework/random.h"
#include "layers/dropout.h"

namespace heed::nn {

Embedding::Embedding(int64_t num, int64_t dim, Generator& gen, int64_t padding, float drop)
    : num_embeddings(num),
      embedding_dim(dim),
      padding_idx(padding),
      embedding_dropout(drop),
      gen_(&gen) {
  HEED_CHECK(num > 0 && dim > 0,
             "Embedding: num_embeddings and embedding_dim must be positive, got ", num, " and ",
             dim);
  HEED_CHECK(padding < num, "Embedding: padding_idx ", padding, " must be below num_embeddings ",
             num);
  check_dropout(drop, "Embedding");
  Tensor w = Tensor::randn({num, dim}, gen);
  if (padding >= 0) w.narrow(0, padding, 1).fill_(0.f);
  weight = register_parameter("weight", w);
}

Tensor Embedding::forward(const Tensor& ids) const {
  const Tensor rows = ops::embedding(weight, ids, padding_idx);  // checks the ids
  const float p = embedding_dropout;
  if (!is_training() || p == 0.f) return rows;
  // Row id's mask entry is counter_uniform(key, id): one mask over the table, read per lookup.
  // Multiplying the looked-up rows by it equals looking up in the masked table, value and
  // gradient (d weight[id] = m[id] * the sum of the gradients of id's occurrences).
  const uint64_t key = gen_->next_u64();
  const float scale = p < 1.f ? 1.f / (1.f - p) : 0.f;
  const std::vector<int64_t> id = ids.to_vector_i64();
  std::vector<float> mask(id.size());
  for (size_t i = 0; i < id.size(); ++i)
    mask[i] = counter_uniform(key, static_cast<uint64_t>(id[i])) >= p ? scale : 0.f;
  Shape shape = ids.shape();
  shape.push_back(1);
  return ops::mul(rows, Tensor::from_vector(std::move(mask), shape));
}

std::string Embedding::repr() const {
  std::ostringstream out;
  out << "Embedding(" << num_embeddings << ", " << embedding_dim;
  if (padding_idx >= 0) out << ", padding_idx=" << padding_idx;
  if (embedding_dropout > 0.f) out << ", embedding_dropout=" << embedding_dropout;
  out << ")";
  return out.str();
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
