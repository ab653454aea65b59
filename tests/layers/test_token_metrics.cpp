// The token models' metrics (layers/models/token_loss.h) on hand-checked values, and the rule of
// framework/model.h's Metric: a split's value is its total sum over its total count, so two
// batches with different numbers of real tokens combine as one batch of all of them would.

#include <doctest/doctest.h>

#include <cmath>

#include "framework/model.h"
#include "framework/ops.h"
#include "layers/models/token_loss.h"
#include "testing.h"

using namespace heed;

namespace {

Metric combined(const ModelOutput& a, const ModelOutput& b, const std::string& name) {
  const Metric &x = a.metrics.at(name), &y = b.metrics.at(name);
  return {x.sum + y.sum, x.count + y.count, x.finish};
}

}  // namespace

TEST_CASE("token metrics: uniform logits over 8 tokens give 3 bits, perplexity 8") {
  const Tensor logits = Tensor::zeros({6, 8});
  const Tensor target =
      Tensor::from_vector_i64({4, 5, Vocabulary::kPad, 6, 7, Vocabulary::kPad}, {2, 3});
  const ModelOutput out = nn::token_output(logits, target, 0.f);
  CHECK(out.loss_count == 4);  // the real tokens
  CHECK(out.metrics.at("cross_entropy").value() == doctest::Approx(std::log(8.0)));
  CHECK(out.metrics.at("perplexity").value() == doctest::Approx(8.0));
  CHECK(out.metrics.at("bits_per_token").value() == doctest::Approx(3.0));
  CHECK(out.metrics.at("token_accuracy").value() == 0.0);  // argmax is id 0, <pad>, never a target
}

TEST_CASE("token metrics: a split sums over tokens, not over batches") {
  const Tensor logits = testing::rnd({8, 6}, 7, -2.f, 2.f);
  // Batch a: 1 real token of 4 positions; batch b: 3 of 4. Together: one batch of 8 positions.
  const Tensor ta = Tensor::from_vector_i64({5, 0, 0, 0}, {1, 4});
  const Tensor tb = Tensor::from_vector_i64({4, 5, 3, 0}, {1, 4});
  const Tensor both = Tensor::from_vector_i64({5, 0, 0, 0, 4, 5, 3, 0}, {2, 4});
  const ModelOutput a = nn::token_output(logits.narrow(0, 0, 4), ta, 0.f);
  const ModelOutput b = nn::token_output(logits.narrow(0, 4, 4), tb, 0.f);
  const ModelOutput all = nn::token_output(logits, both, 0.f);
  for (const char* name : {"cross_entropy", "perplexity", "bits_per_token", "token_accuracy"}) {
    INFO(name);
    CHECK(combined(a, b, name).value() == doctest::Approx(all.metrics.at(name).value()));
  }
  // The mean of the two batch means would weigh batch a's one token as much as b's three.
  const double mean_of_means =
      (a.metrics.at("cross_entropy").value() + b.metrics.at("cross_entropy").value()) / 2;
  CHECK(mean_of_means != doctest::Approx(all.metrics.at("cross_entropy").value()));
  CHECK(a.loss.item() * a.loss_count + b.loss.item() * b.loss_count ==
        doctest::Approx(all.loss.item() * all.loss_count));
}

TEST_CASE("token metrics: cross_entropy stays unsmoothed under label smoothing") {
  const Tensor logits = testing::rnd({4, 6}, 9, -2.f, 2.f);
  const Tensor target = Tensor::from_vector_i64({4, 5, 2, 0}, {1, 4});
  const ModelOutput plain = nn::token_output(logits, target, 0.f);
  const ModelOutput smoothed = nn::token_output(logits, target, 0.1f);
  CHECK(smoothed.metrics.at("cross_entropy").value() == doctest::Approx(plain.loss.item()));
  CHECK(smoothed.loss.item() != doctest::Approx(plain.loss.item()));
}
