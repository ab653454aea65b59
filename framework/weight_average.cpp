#include "framework/weight_average.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "framework/error.h"
#include "framework/ops/iter.h"

namespace heed {

WeightAverageOptions WeightAverageOptions::from_config(const Config& c) {
  WeightAverageOptions o;
  o.method = c.choice("method", o.method, {"ema", "swa"});
  o.decay = c.get<double>("decay", o.decay, range::below_one);
  HEED_RECIPE_CHECK(o.method == "ema" || !c.has("decay"), c.path_of("decay"),
                    " is ema's; method \"swa\" weighs every update equally");
  o.start_step = c.get<int64_t>("start_step", o.start_step, range::count_or_zero);
  c.finish();
  return o;
}

StateDict in_parameter_order(const StateDict& params, const StateDict& averaged) {
  StateDict out;
  for (const auto& [name, p] : params) {
    // C++17 lambdas cannot capture a structured binding (clang refuses it): name the key.
    const std::string& key = name;
    const auto it = std::find_if(averaged.begin(), averaged.end(),
                                 [&](const auto& entry) { return entry.first == key; });
    HEED_CHECK(it != averaged.end(), "group averaged_model has no tensor ", name);
    HEED_CHECK(it->second.shape() == p.shape(), "group averaged_model: ", name, " has shape ",
               shape_str(it->second.shape()), ", the parameter ", shape_str(p.shape()));
    out.push_back(*it);
  }
  HEED_CHECK(out.size() == averaged.size(), "group averaged_model has ", averaged.size(),
             " tensors, the model ", params.size(), " parameters");
  return out;
}

WeightAverage::WeightAverage(WeightAverageOptions options, const StateDict& params)
    : o_(std::move(options)), params_(params) {
  for (const auto& [name, p] : params_)
    HEED_CHECK(p.is_contiguous(), "weight average: parameter ", name, " is not contiguous");
}

void WeightAverage::update(int64_t step) {
  if (step <= o_.start_step) return;
  if (count_ == 0) {
    averaged_.clear();
    for (const auto& [name, p] : params_) averaged_.emplace_back(name, p.clone());
    count_ = 1;
    return;
  }
  // The weight of the new parameters, as AveragedModel's avg_fn rounds it to float32.
  const bool swa = o_.method == "swa";
  const float keep = static_cast<float>(o_.decay), take = static_cast<float>(1 - o_.decay);
  const float n1 = static_cast<float>(count_ + 1);
  for (size_t k = 0; k < params_.size(); ++k) {
    const float* p = params_[k].second.data();
    float* a = averaged_[k].second.data();
    const int64_t n = params_[k].second.numel();
#pragma omp parallel for if (n >= ops::kParallelGrain)
    for (int64_t i = 0; i < n; ++i)
      a[i] = swa ? a[i] + (p[i] - a[i]) / n1 : keep * a[i] + take * p[i];
  }
  ++count_;
}

void WeightAverage::swap() {
  if (count_ == 0) return;
  for (size_t k = 0; k < params_.size(); ++k) {
    float* p = params_[k].second.data();
    float* a = averaged_[k].second.data();
    const int64_t n = params_[k].second.numel();
#pragma omp parallel for if (n >= ops::kParallelGrain)
    for (int64_t i = 0; i < n; ++i) std::swap(p[i], a[i]);
  }
}

nlohmann::json WeightAverage::state_dict() const {
  return {{"method", o_.method}, {"n_averaged", count_}};
}

void WeightAverage::load_state_dict(const nlohmann::json& state, const StateDict& averaged) {
  const std::string method = state.at("method").get<std::string>();
  HEED_CHECK(method == o_.method, "weight average: the checkpoint averaged by \"", method,
             "\", the recipe by \"", o_.method, "\"");
  const int64_t count = state.at("n_averaged").get<int64_t>();
  HEED_CHECK(count >= 0, "weight average: n_averaged is ", count);
  HEED_CHECK((count == 0) == averaged.empty(), "group averaged_model is ",
             count == 0 ? "present with n_averaged 0" : "missing with n_averaged > 0");
  averaged_.clear();
  if (count > 0)
    for (const auto& [name, a] : in_parameter_order(params_, averaged))
      averaged_.emplace_back(name, a.clone());
  count_ = count;
}

std::string WeightAverage::repr() const {
  std::ostringstream out;
  out << "WeightAverage(method=" << o_.method;
  if (o_.method == "ema") out << ", decay=" << o_.decay;
  out << ", start_step=" << o_.start_step << ")";
  return out.str();
}

}  // namespace heed
