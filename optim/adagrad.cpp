#include "optim/adagrad.h"

#include <cmath>
#include <sstream>

#include "framework/ops/iter.h"

namespace heed::optim {

namespace {

// One parameter's update (the equations in adagrad.h) in PyTorch's float32 order of operations:
// addcmul_'s addition is a fused multiply-add, addcdiv_ is self + value * t1 / t2.
template <bool kDecay>
void adagrad_update(float* p, const float* g, float* sum, int64_t n, float weight_decay, float eps,
                    float neg_clr) {
#pragma omp parallel for simd if (n >= ops::kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    float grad = g[i];
    if constexpr (kDecay) grad = std::fma(p[i], weight_decay, grad);
    sum[i] = std::fma(grad, grad, sum[i]);  // state_sum.addcmul_(grad, grad, value=1)
    const float std_dev = std::sqrt(sum[i]) + eps;
    p[i] = p[i] + neg_clr * grad / std_dev;  // param.addcdiv_(grad, std, value=-clr)
  }
}

}  // namespace

std::vector<Optimizer::StateSpec> Adagrad::state_spec(const AdagradOptions& o) {
  return {{"step", StateKind::StepCount},
          {"sum", StateKind::LikeParam, static_cast<float>(o.initial_accumulator_value)}};
}

Adagrad::Adagrad(StateDict params, AdagradOptions options)
    : Adagrad(std::vector<ParamGroup<AdagradOptions>>{{std::move(params), options}}) {}

Adagrad::Adagrad(std::vector<ParamGroup<AdagradOptions>> groups)
    : Optimizer("Adagrad", group_specs(groups, state_spec)), options_(options_of(groups)) {
  for (const AdagradOptions& o : options_) {
    HEED_CHECK(o.lr_decay >= 0, "Adagrad: invalid lr_decay value: ", o.lr_decay);
    HEED_CHECK(o.weight_decay >= 0, "Adagrad: invalid weight_decay value: ", o.weight_decay);
    HEED_CHECK(o.initial_accumulator_value >= 0,
               "Adagrad: invalid initial_accumulator_value value: ", o.initial_accumulator_value);
    HEED_CHECK(o.eps >= 0, "Adagrad: invalid epsilon value: ", o.eps);
  }
}

void Adagrad::step() {
  for (size_t g = 0; g < num_groups(); ++g) {
    const AdagradOptions& o = options_[g];
    for (const auto& [name, param] : group_params(g)) {
      const Tensor grad = grad_of(param);
      if (!grad.defined()) continue;
      ParamState& s = state(name);
      const double t = static_cast<double>(++s.at("step").data_i64()[0]);
      const double clr = lr(g) / (1 + (t - 1) * o.lr_decay);
      auto* update = o.weight_decay != 0 ? adagrad_update<true> : adagrad_update<false>;
      update(param.data(), grad.data(), s.at("sum").data(), param.numel(),
             static_cast<float>(o.weight_decay), static_cast<float>(o.eps),
             static_cast<float>(-clr));
    }
  }
}

std::string Adagrad::options_repr(size_t group) const {
  const AdagradOptions& o = options_[group];
  std::ostringstream out;
  out << "lr=" << lr(group) << ", lr_decay=" << o.lr_decay << ", weight_decay=" << o.weight_decay
      << ", initial_accumulator_value=" << o.initial_accumulator_value << ", eps=" << o.eps;
  return out.str();
}

AdagradOptions Adagrad::options(size_t group) const {
  AdagradOptions o = options_.at(group);
  o.lr = lr(group);
  return o;
}

}  // namespace heed::optim
