// The erasure test of a classifier and of a language model (framework/erasure.h) on models built
// by hand, where every number is known: the seq2seq test is checked on a trained G2P run in
// test_predict.cpp.

#include <doctest/doctest.h>

#include <cmath>

#include "framework/erasure.h"
#include "framework/error.h"
#include "framework/inspect.h"
#include "framework/ops.h"
#include "layers/models/classification.h"

using namespace heed;

namespace {

constexpr int64_t kLen = 10;

// x [batch, 10, 1] -> attention w = softmax(100 x) over the positions (one-hot on the largest
// value, uniform over equal ones), z = sum_s w_s x_s, logits [z, 1.5]: it reads the value it
// attends to. `attention` false: the same without recording the weights (a model with none).
class ReadTheLargest : public Model {
 public:
  explicit ReadTheLargest(bool attention) : attention_(attention) {}
  ModelOutput forward(const Batch& batch) override {
    const Tensor x = ops::reshape(batch.input, {batch.size(), kLen});
    const Tensor w = ops::softmax(x * 100.f, -1);
    if (attention_) Inspector::record_attention(*this, ops::reshape(w, {batch.size(), 1, kLen}));
    const Tensor z = ops::sum(w * x, {1}, true);
    const Tensor logits = ops::concat({z, Tensor::full({batch.size(), 1}, 1.5f)}, 1);
    return nn::classification_output(*this, logits, batch.target, 0.f);
  }
  std::string repr() const override { return "ReadTheLargest()"; }

 private:
  bool attention_;
};

// Example i: zeros but a 3 at position i % 10, class 0.
class Spikes : public Dataset {
 public:
  int64_t size() const override { return 6; }
  Batch get(const std::vector<int64_t>& indices) const override {
    const auto n = static_cast<int64_t>(indices.size());
    std::vector<float> x(n * kLen, 0.f);
    for (int64_t r = 0; r < n; ++r) x[r * kLen + indices[r] % kLen] = 3.f;
    return {Tensor::from_vector(x, {n, kLen, 1}),
            Tensor::from_vector_i64(std::vector<int64_t>(n, 0), {n})};
  }
};

// A language model of windows of 10 tokens that reads the 5 in them, ReadTheLargest's way: the
// attention of the last query w = softmax(100 [token == 5]), z = sum_s w_s [token_s == 5], and
// the next token's logits [3 z, 1.5] (a vocabulary of two). Its forward is never called.
class ReadTheFive : public Model, public NextTokenModel {
 public:
  ModelOutput forward(const Batch&) override { return {}; }
  Tensor next_token_logits(const Tensor& tokens) const override {
    std::vector<float> is_five;
    for (int64_t t : tokens.to_vector_i64()) is_five.push_back(t == 5 ? 1.f : 0.f);
    const Tensor x = Tensor::from_vector(is_five, tokens.shape());
    const Tensor w = ops::softmax(x * 100.f, -1);
    Inspector::record_attention(*this, ops::reshape(w, {tokens.size(0), 1, kLen}));
    const Tensor z = ops::sum(w * x, {1}, true) * 3.f;
    return ops::concat({z, Tensor::full({tokens.size(0), 1}, 1.5f)}, 1);
  }
  int64_t max_context() const override { return kLen; }
  std::string repr() const override { return "ReadTheFive()"; }
};

// Window i: tokens 4 but a 5 at position i % 10.
class Windows : public Dataset {
 public:
  int64_t size() const override { return 3; }
  Batch get(const std::vector<int64_t>& indices) const override {
    const auto n = static_cast<int64_t>(indices.size());
    std::vector<int64_t> x(n * kLen, 4);
    for (int64_t r = 0; r < n; ++r) x[r * kLen + indices[r] % kLen] = 5;
    return {Tensor::from_vector_i64(x, {n, kLen}), Tensor::from_vector_i64(x, {n, kLen})};
  }
};

// The numbers both hand-built models give: erasing the attended position leaves z = 0, logits
// [0, 1.5], and the prediction flips; erasing another changes nothing.
void check_hand_built(const nlohmann::json& r, int64_t examples, const std::string& erased) {
  INFO(r.dump());
  CHECK(r["examples"] == examples);
  CHECK(r["skipped"] == 0);
  CHECK(r["erased"] == erased);
  const double before = 3 - std::log(std::exp(3.0) + std::exp(1.5));
  const double after = -std::log(1 + std::exp(1.5));
  CHECK(r["top"]["delta_log_prob"].get<double>() == doctest::Approx(after - before).epsilon(1e-5));
  CHECK(r["top"]["prediction_changed"] == 1.0);
  CHECK(r["random"]["delta_log_prob"].get<double>() == doctest::Approx(0).epsilon(1e-6));
  CHECK(r["random"]["prediction_changed"] == 0.0);
  CHECK(r["top_hurts_more"] == 1.0);
}

}  // namespace

TEST_CASE("erasure test of a classifier: the attended position carries the prediction") {
  ReadTheLargest model(true);
  // The split's first 4 of 6; k = max(1, 10 / 10).
  check_hand_built(erasure_test(model, Spikes(), {.examples = 4, .seed = 7}), 4,
                   "1 of 10 input positions per example");
  CHECK(model.is_training());  // back in training mode
}

TEST_CASE("erasure test of a language model: the attended token carries the next one") {
  ReadTheFive model;  // the erased 5 reads as <unk>
  check_hand_built(erasure_test(model, Windows(), {.examples = 10, .seed = 7}), 3,
                   "1 of 10 context positions per prediction (the token after the window)");
}

TEST_CASE("erasure test: a classifier without attention, a model that is neither") {
  ReadTheLargest plain(false);
  CHECK_THROWS_WITH_AS(erasure_test(plain, Spikes(), {}),
                       doctest::Contains("erasure test: the model records no attention over its "
                                         "input's 10 positions (ReadTheLargest())"),
                       Error);

  // An image classifier's attention (CBAM) is over channels and pixels: no test, said so in the
  // words `heed compare` records as "not applicable".
  class Images : public Dataset {
   public:
    int64_t size() const override { return 2; }
    Batch get(const std::vector<int64_t>& indices) const override {
      const auto n = static_cast<int64_t>(indices.size());
      return {Tensor::zeros({n, 1, 4, 4}),
              Tensor::from_vector_i64(std::vector<int64_t>(n, 0), {n})};
    }
  };
  ReadTheLargest attending(true);
  CHECK_THROWS_WITH_AS(erasure_test(attending, Images(), {}),
                       doctest::Contains("erasure test: the model records no attention over input "
                                         "positions: its inputs [1, 1, 4, 4] are images"),
                       Error);

  class Silent : public Model {
   public:
    ModelOutput forward(const Batch&) override { return {}; }
    std::string repr() const override { return "Silent()"; }
  } silent;
  CHECK_THROWS_WITH_AS(erasure_test(silent, Spikes(), {}),
                       "erasure test: needs a sequence-to-sequence model, a classifier or a "
                       "language model, not Silent()",
                       Error);
}
