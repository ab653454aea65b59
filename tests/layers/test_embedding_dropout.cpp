// Embedding dropout (Gal & Ghahramani 2016, sec. 4; Merity et al. 2018, sec. 4.3, AWD-LSTM's
// embedded_dropout): whole rows of the table, i.e. word types, dropped per forward and the rest
// scaled by 1/(1-p). PyTorch's nn.Embedding has no such option, so the reference is AWD-LSTM's
// definition, a lookup in the masked table weight * m[:, None] / (1-p), checked on values and on
// the gradient (directly, and by finite differences with the mask fixed by replaying the
// generator).

#include <doctest/doctest.h>

#include <map>

#include "framework/ops.h"
#include "framework/random.h"
#include "layers/embedding.h"

using namespace heed;

namespace {

// ids [3, 4] with repeats (7 three times, 2 twice) and the padding id 0.
Tensor repeated_ids() {
  return Tensor::from_vector_i64({7, 2, 7, 5, 0, 9, 2, 7, 1, 3, 4, 6}, {3, 4});
}

}  // namespace

TEST_CASE("embedding_dropout: one mask per row, so every occurrence of an id is kept or dropped") {
  Generator gen(2);
  const int64_t num = 10, dim = 5;
  const float p = 0.5f;
  nn::Embedding emb(num, dim, gen, /*padding_idx=*/0, p);
  const Tensor ids = repeated_ids();
  Generator replay;
  replay.set_state(gen.state());
  const std::vector<float> y = emb.forward(ids).to_vector(), w = emb.weight.to_vector();
  const std::vector<int64_t> id = ids.to_vector_i64();

  // AWD-LSTM's embedded_dropout: the lookup in the table masked by m[r] = Bernoulli(1 - p) / (1-p),
  // m drawn from the one key of this forward.
  const uint64_t key = replay.next_u64();
  CHECK(gen.state() == replay.state());
  std::map<int64_t, bool> kept_of;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool kept = counter_uniform(key, static_cast<uint64_t>(id[i])) >= p;
    kept_of[id[i]] = kept;
    for (int64_t j = 0; j < dim; ++j) {
      const float want = kept ? w[static_cast<size_t>(id[i] * dim + j)] / (1.f - p) : 0.f;
      CHECK(y[i * dim + static_cast<size_t>(j)] == doctest::Approx(want));
    }
  }
  // Read from the output alone: an id's occurrences are all zero or all nonzero.
  std::map<int64_t, bool> zero_of;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool zero = y[i * dim] == 0.f;
    CHECK(zero_of.emplace(id[i], zero).first->second == zero);
  }
  int dropped = 0;
  for (const auto& [row, kept] : kept_of) dropped += row != 0 && !kept;
  CHECK(dropped > 0);  // 9 rows besides padding at p = 0.5: some of each
  CHECK(dropped < 9);

  // The next forward draws a new mask.
  CHECK(emb.forward(ids).to_vector() != y);
  CHECK(emb.repr() == "Embedding(10, 5, padding_idx=0, embedding_dropout=0.5)");
}

TEST_CASE("embedding_dropout: about p of the rows dropped, eval and p = 0 are the plain lookup") {
  Generator gen(3);
  const int64_t num = 2000;
  nn::Embedding emb(num, 2, gen, -1, 0.3f);
  const Tensor ids = Tensor::arange(num, Dtype::Int64);
  const std::vector<float> y = emb.forward(ids).to_vector();
  int64_t dropped = 0;
  for (int64_t r = 0; r < num; ++r) dropped += y[static_cast<size_t>(2 * r)] == 0.f;
  CHECK(dropped == doctest::Approx(0.3 * num).epsilon(0.1));  // 600 +- 60 (sd ~20)

  emb.eval();
  const auto state = gen.state();
  const Tensor plain = ops::embedding(emb.weight, ids, -1);
  CHECK(emb.forward(ids).to_vector() == plain.to_vector());
  emb.train();
  nn::Embedding none(num, 2, gen);
  const auto before = gen.state();
  CHECK(none.forward(ids).to_vector() == ops::embedding(none.weight, ids, -1).to_vector());
  CHECK(gen.state() == before);  // no draw at p = 0: models without it draw what they drew
  CHECK(state != before);        // (the table's initialization did draw)
  CHECK_THROWS_WITH_AS(nn::Embedding(4, 2, gen, -1, 1.5f),
                       "Embedding: dropout probability has to be between 0 and 1, but got 1.5",
                       heed::Error);
}

TEST_CASE("embedding_dropout: the weight's gradient is the masked scatter-add of the output's") {
  Generator gen(5);
  const int64_t num = 10, dim = 3;
  const float p = 0.4f;
  nn::Embedding emb(num, dim, gen, /*padding_idx=*/0, p);
  const Tensor ids = repeated_ids();
  Generator data(6);
  const Tensor cotangent = Tensor::randn({3, 4, dim}, data);
  const auto state = gen.state();
  const Tensor y = emb.forward(ids);
  y.backward(cotangent);
  const std::vector<float> grad = emb.weight.grad().to_vector();

  // Directly: d weight[r] = m[r] * sum of the cotangent rows at r's positions; the padding row
  // gets nothing; m[r] read from the forward (y = weight[r] * m[r] where the row is nonzero).
  const std::vector<int64_t> id = ids.to_vector_i64();
  const std::vector<float> g = cotangent.to_vector(), yv = y.to_vector(),
                           w = emb.weight.to_vector();
  std::vector<double> want(static_cast<size_t>(num * dim), 0.0);
  for (size_t i = 0; i < id.size(); ++i) {
    if (id[i] == 0) continue;
    const size_t row = static_cast<size_t>(id[i] * dim);
    const double m = yv[i * dim] / w[row];  // 0 or 1/(1-p)
    CHECK((m == doctest::Approx(0.0) || m == doctest::Approx(1.0 / (1.0 - p))));
    for (size_t j = 0; j < static_cast<size_t>(dim); ++j) want[row + j] += m * g[i * dim + j];
  }
  for (size_t k = 0; k < want.size(); ++k) CHECK(grad[k] == doctest::Approx(want[k]).epsilon(1e-5));

  // By finite differences, the mask fixed by replaying the generator's state at every forward.
  NoGradGuard no_grad;
  float* weight = emb.weight.data();
  auto loss = [&] {
    gen.set_state(state);
    const std::vector<float> out = emb.forward(ids).to_vector();
    double s = 0;
    for (size_t i = 0; i < out.size(); ++i) s += static_cast<double>(out[i]) * g[i];
    return s;
  };
  const float h = 1e-2f;
  for (int64_t k = dim; k < num * dim; ++k) {  // every row but the padding one
    const float saved = weight[k];
    weight[k] = saved + h;
    const double plus = loss();
    weight[k] = saved - h;
    const double minus = loss();
    weight[k] = saved;
    CHECK(grad[static_cast<size_t>(k)] ==
          doctest::Approx((plus - minus) / (2.0 * h)).epsilon(2e-3));
  }
}
