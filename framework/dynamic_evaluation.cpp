#include "framework/dynamic_evaluation.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "framework/error.h"
#include "framework/ops/iter.h"

namespace heed {

namespace {

// θ ← θ − lr g + decay (θ_g − θ), element by element in float32.
void dynamic_step(float* p, const float* g, const float* trained, int64_t n, float lr,
                  float decay) {
#pragma omp parallel for simd if (n >= ops::kParallelGrain)
  for (int64_t i = 0; i < n; ++i) p[i] += decay * (trained[i] - p[i]) - lr * g[i];
}

}  // namespace

void DynamicEvaluationOptions::check() const {
  HEED_CHECK(std::isfinite(lr) && lr >= 0, "dynamic evaluation: lr must be >= 0, got ", lr);
  HEED_CHECK(decay >= 0 && decay <= 1, "dynamic evaluation: decay must be in [0, 1], got ", decay);
}

DynamicEvaluationTotals dynamic_evaluation(Model& model, const Dataset& data, int64_t batch_size,
                                           const DynamicEvaluationOptions& options) {
  options.check();
  HEED_CHECK(batch_size > 0, "dynamic evaluation: batch size must be > 0, got ", batch_size);
  const StateDict params = model.named_parameters();
  StateDict trained;  // θ_g, and what the parameters are set back to at the end
  for (const auto& [name, p] : params) trained.emplace_back(name, p.detach().clone());
  // The trained weights come back however the loop ends (a forward that throws included).
  struct Restore {
    const StateDict &params, &trained;
    ~Restore() {
      for (size_t i = 0; i < params.size(); ++i) params[i].second.copy_(trained[i].second);
    }
  } restore{params, trained};
  model.eval();
  model.zero_grad();
  DynamicEvaluationTotals totals;
  for (int64_t first = 0; first < data.size(); first += batch_size) {
    std::vector<int64_t> indices(std::min(batch_size, data.size() - first));
    std::iota(indices.begin(), indices.end(), first);
    const Batch batch = data.get(indices);
    const ModelOutput out = model.forward(batch);
    // The window's score, taken before the model learns from it.
    totals.loss.sum += out.loss.item() * out.loss_count;
    totals.loss.count += out.loss_count;
    add_metrics(totals.metrics, out.metrics);
    totals.samples += batch.size();
    out.loss.backward();
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor& p = params[i].second;
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;  // a parameter this window does not reach
      dynamic_step(p.data(), grad.data(), trained[i].second.data(), p.numel(),
                   static_cast<float>(options.lr), static_cast<float>(options.decay));
    }
    model.zero_grad();
  }
  return totals;
}

}  // namespace heed
