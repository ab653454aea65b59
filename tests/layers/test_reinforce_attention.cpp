// REINFORCE hard attention (layers/attention/reinforce.h) and the score-function estimator
// (framework/score_function.h): the surrogate's gradient, averaged over many draws, is the exact
// gradient of the expected reward; the moving-average baseline leaves that mean alone and cuts the
// estimator's variance; evaluation takes the argmax; masked keys are never drawn; the baseline is
// a buffer of MultiheadAttention; a model without per-example log-likelihoods is told so.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "framework/ops.h"
#include "framework/random.h"
#include "framework/score_function.h"
#include "layers/attention/multihead.h"
#include "layers/attention/reinforce.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;

namespace {

// One example, one query over three keys; the reward of drawing key j is R_j = offset - (j
// - 1.5)^2.
struct Draws {
  std::vector<double> mean;      // the surrogate's gradient w.r.t. the scores, averaged
  std::vector<double> variance;  // per score, over the draws
};

Draws estimate(bool use_baseline, float offset, int draws) {
  nn::ReinforceAttention attn({.baseline = use_baseline, .decay = 0.9f},
                              nn::HeadShape{.num_heads = 1, .head_dim = 1});
  Generator gen(5);
  nn::AttentionCall call;
  call.training = true, call.gen = &gen;
  std::vector<double> sum(3, 0), sum_sq(3, 0);
  for (int n = 0; n < draws; ++n) {
    Tensor scores = Tensor::from_vector({0.2f, -0.4f, 0.9f}, {1, 1, 1, 3}).requires_grad_();
    ScoreFunction collect;
    const std::vector<float> w = attn.normalize(scores, call).to_vector();
    const int64_t j = std::max_element(w.begin(), w.end()) - w.begin();
    const float reward = offset - static_cast<float>((j - 1.5) * (j - 1.5));
    collect.surrogate(Tensor::from_vector({reward}, {1})).backward();
    const std::vector<float> g = scores.grad().to_vector();
    for (int k = 0; k < 3; ++k) {
      sum[k] += -g[k];  // the surrogate is minimized: its negative gradient ascends the reward
      sum_sq[k] += static_cast<double>(g[k]) * g[k];
    }
  }
  Draws d;
  for (int k = 0; k < 3; ++k) {
    d.mean.push_back(sum[k] / draws);
    d.variance.push_back(sum_sq[k] / draws - d.mean[k] * d.mean[k]);
  }
  return d;
}

// d/ds_k sum_j p_j R_j = p_k (R_k - sum_j p_j R_j).
std::vector<double> exact_gradient(float offset) {
  const std::vector<double> s = {0.2, -0.4, 0.9};
  double z = 0;
  for (double x : s) z += std::exp(x);
  std::vector<double> p, r;
  double expected = 0;
  for (int j = 0; j < 3; ++j) {
    p.push_back(std::exp(s[j]) / z);
    r.push_back(offset - (j - 1.5) * (j - 1.5));
    expected += p[j] * r[j];
  }
  std::vector<double> g;
  for (int k = 0; k < 3; ++k) g.push_back(p[k] * (r[k] - expected));
  return g;
}

}  // namespace

TEST_CASE(
    "REINFORCE: the surrogate's mean gradient is the expected reward's, with or without "
    "a baseline") {
  for (const bool use_baseline : {false, true}) {
    INFO("baseline ", use_baseline);
    const Draws d = estimate(use_baseline, 0.f, 20000);
    const std::vector<double> exact = exact_gradient(0.f);
    for (int k = 0; k < 3; ++k)
      CHECK(d.mean[k] == doctest::Approx(exact[k]).epsilon(0.03).scale(1));
  }
}

TEST_CASE("REINFORCE: the moving-average baseline cuts the estimator's variance") {
  // Rewards far from zero (log-likelihoods of -5 and below) make the plain estimator noisy: every
  // draw pushes its key's score down; the baseline subtracts the typical reward.
  const Draws plain = estimate(false, -5.f, 4000), based = estimate(true, -5.f, 4000);
  for (int k = 0; k < 3; ++k) {
    INFO("score ", k, ": variance ", plain.variance[k], " without, ", based.variance[k], " with");
    CHECK(based.variance[k] < 0.1 * plain.variance[k]);
  }
}

TEST_CASE("REINFORCE attention: argmax outside training, never a masked key, padded rows empty") {
  nn::ReinforceAttention attn({}, nn::HeadShape{.num_heads = 1, .head_dim = 1});
  Generator gen(6);
  nn::AttentionCall call;
  call.gen = &gen;
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor scores =
      Tensor::from_vector({0.1f, 2.f, -1.f, -inf, 5.f, -inf, -inf, -inf, -inf}, {1, 1, 3, 3});
  // Not training (and training without a collector): the most likely key.
  for (const bool training : {false, true}) {
    call.training = training;
    CHECK(attn.normalize(scores, call).to_vector() ==
          std::vector<float>{0, 1, 0, 0, 1, 0, 0, 0, 0});
  }
  // Sampled: row 1 has one allowed key, row 2 none.
  call.training = true;
  for (int n = 0; n < 50; ++n) {
    ScoreFunction collect;
    const std::vector<float> w = attn.normalize(scores, call).to_vector();
    CHECK(w[0] + w[1] + w[2] == 1.f);
    CHECK(w[4] == 1.f);
    CHECK(w[6] + w[7] + w[8] == 0.f);
    CHECK(!collect.empty());
  }
}

TEST_CASE("REINFORCE attention in MultiheadAttention: the baseline is a buffer, rewards required") {
  Generator gen(7);
  nn::MultiheadAttention m({.embed_dim = 4,
                            .num_heads = 2,
                            .variant = {.type = "reinforce", .options = {{"decay", 0.5}}}},
                           gen);
  bool found = false;
  for (const auto& [name, b] : m.named_buffers()) found = found || name == "reinforce_baseline";
  CHECK(found);
  CHECK(m.repr().find("attention=reinforce, baseline=true, decay=0.5") != std::string::npos);
  const Tensor x = rnd({3, 5, 4}, 8);
  {
    ScoreFunction collect;
    m.forward(x, x, x);
    REQUIRE(!collect.empty());
    CHECK_THROWS_WITH_AS(collect.surrogate(Tensor()),
                         doctest::Contains("reports no per-example log-likelihood"), Error);
    CHECK_THROWS_WITH_AS(ScoreFunction(), doctest::Contains("already collects"), Error);
  }
  // A reward of -2 for every example moves the baseline from 0 halfway there (decay 0.5).
  ScoreFunction collect;
  m.forward(x, x, x);
  collect.surrogate(Tensor::full({3}, -2.f)).backward();
  for (const auto& [name, b] : m.named_buffers())
    if (name == "reinforce_baseline") CHECK(b.item() == -1.f);
  CHECK(m.in_proj_weight.grad().defined());
}
