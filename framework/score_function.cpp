#include "framework/score_function.h"

#include "framework/autograd.h"
#include "framework/error.h"
#include "framework/ops.h"

namespace heed {

namespace {

thread_local ScoreFunction* current = nullptr;

}  // namespace

ScoreFunction::ScoreFunction() {
  HEED_CHECK(current == nullptr, "ScoreFunction: another one already collects on this thread");
  current = this;
}

ScoreFunction::~ScoreFunction() {
  current = nullptr;
}

bool ScoreFunction::collecting() {
  return current != nullptr;
}

void ScoreFunction::add(const Tensor& log_prob, const Tensor& baseline, float decay) {
  if (current == nullptr) return;
  HEED_CHECK(log_prob.dim() == 1, "ScoreFunction: log_prob must be [batch], got ",
             log_prob.shape());
  HEED_CHECK(!baseline.defined() || (baseline.numel() == 1 && baseline.dtype() == Dtype::Float32),
             "ScoreFunction: the baseline must be one float32 element, got ", baseline.shape());
  HEED_CHECK(decay >= 0.f && decay < 1.f, "ScoreFunction: decay must be in [0, 1), got ", decay);
  current->terms_.push_back({log_prob, baseline, decay});
}

Tensor ScoreFunction::surrogate(const Tensor& reward) {
  HEED_CHECK(reward.defined(),
             "ScoreFunction: a layer sampled a choice (REINFORCE attention), but the model reports "
             "no per-example log-likelihood to reward it with (ModelOutput::"
             "example_log_likelihood); use it in a classifier");
  std::vector<float> r;
  {
    NoGradGuard no_grad;
    r = reward.to_vector();
  }
  double mean_reward = 0;
  for (const float x : r) mean_reward += x;
  mean_reward /= static_cast<double>(r.size());
  Tensor total;
  for (const Term& t : terms_) {
    HEED_CHECK(reward.shape() == t.log_prob.shape(), "ScoreFunction: reward ", reward.shape(),
               " and log_prob ", t.log_prob.shape(), " must both be [batch]");
    const float b = t.baseline.defined() ? t.baseline.item() : 0.f;
    std::vector<float> advantage(r.size());
    for (size_t i = 0; i < r.size(); ++i) advantage[i] = r[i] - b;
    const Tensor a = Tensor::from_vector(advantage, reward.shape());
    const Tensor term = -ops::mean(a * t.log_prob);
    total = total.defined() ? total + term : term;
    if (t.baseline.defined())
      t.baseline.fill_(t.decay * b + (1.f - t.decay) * static_cast<float>(mean_reward));
  }
  terms_.clear();
  return total;
}

}  // namespace heed
