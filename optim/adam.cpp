#include "optim/adam.h"

#include <cmath>
#include <sstream>

#include "framework/ops/iter.h"

namespace heed::optim {

namespace {

// Float32 coefficients of one step, each rounded once from its double as PyTorch rounds a Python
// scalar argument of a tensor op.
struct AdamCoefficients {
  float weight_decay, beta1, one_minus_beta1, beta2, one_minus_beta2;
  float bias_correction2_sqrt, eps, neg_step_size;
  bool decay;
};

// One parameter's update (the equations in adam.h); `max_v` is only read with kAmsgrad.
// Each line is one PyTorch op, rounded where PyTorch rounds: a product that is its own op
// (mul_) is rounded before the next op adds to it, and `a.add_(b, alpha=s)` and addcmul_'s
// final addition are fused multiply-adds, as in PyTorch's CPU kernels (vec::fmadd). Spelling
// the fma out also keeps results independent of the compiler's own contraction choices.
// The options are template parameters so that the loop has no branches to keep it from being
// vectorized.
template <bool kDecay, bool kAmsgrad>
void adam_update(float* p, const float* g, float* m, float* v, float* max_v, int64_t n,
                 const AdamCoefficients& c) {
#pragma omp parallel for simd if (n >= ops::kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    float grad = g[i];
    if constexpr (kDecay) grad = std::fma(p[i], c.weight_decay, grad);  // add(p, alpha=wd)
    m[i] = std::fma(grad, c.one_minus_beta1, m[i] * c.beta1);  // mul_(b1).add_(g, alpha=1-b1)
    const float scaled_grad = c.one_minus_beta2 * grad;        // addcmul_(g, g, value=1-b2)
    v[i] = std::fma(scaled_grad, grad, v[i] * c.beta2);        //   on top of mul_(b2)
    float second = v[i];
    if constexpr (kAmsgrad) {  // torch.maximum(max_v, v, out=max_v), which propagates NaN
      second = v[i] > max_v[i] || std::isnan(v[i]) ? v[i] : max_v[i];
      max_v[i] = second;
    }
    // Vectorized only under -fno-math-errno: otherwise sqrt's errno path is a branch GCC cannot
    // vectorize (and neither the optimize attribute nor the pragma turns it off per function).
    const float denom = std::sqrt(second) / c.bias_correction2_sqrt + c.eps;
    p[i] = p[i] + c.neg_step_size * m[i] / denom;  // addcdiv_(m, denom, value=-step_size)
  }
}

void check_beta1(const std::string& type, double beta1) {
  HEED_CHECK(beta1 >= 0 && beta1 < 1, type, ": invalid beta parameter at index 0: ", beta1);
}

}  // namespace

std::vector<Optimizer::StateSpec> Adam::state_spec(const AdamOptions& o) {
  using K = StateKind;
  std::vector<Optimizer::StateSpec> spec = {
      {"step", K::StepCount}, {"exp_avg", K::LikeParam}, {"exp_avg_sq", K::LikeParam}};
  if (o.amsgrad) spec.push_back({"max_exp_avg_sq", K::LikeParam});
  return spec;
}

Adam::Adam(StateDict params, AdamOptions options)
    : Adam(std::vector<ParamGroup<AdamOptions>>{{std::move(params), options}}) {}

Adam::Adam(std::vector<ParamGroup<AdamOptions>> groups) : Adam("Adam", std::move(groups), false) {}

Adam::Adam(std::string type, std::vector<ParamGroup<AdamOptions>> groups, bool decoupled)
    : Optimizer(type, group_specs(groups, state_spec)),
      options_(options_of(groups)),
      decoupled_(decoupled) {
  for (const AdamOptions& o : options_) {
    HEED_CHECK(o.eps >= 0, type, ": invalid epsilon value: ", o.eps);
    check_beta1(type, o.beta1);
    HEED_CHECK(o.beta2 >= 0 && o.beta2 < 1, type, ": invalid beta parameter at index 1: ", o.beta2);
    HEED_CHECK(o.weight_decay >= 0, type, ": invalid weight_decay value: ", o.weight_decay);
  }
}

void Adam::step() {
  for (size_t g = 0; g < num_groups(); ++g) {
    const AdamOptions& o = options_[g];
    const double lr_now = lr(g);
    const bool l2 = o.weight_decay != 0 && !decoupled_;
    // AdamW's param.mul_(1 - lr * weight_decay), with the factor rounded once to float.
    const float shrink = static_cast<float>(1 - lr_now * o.weight_decay);
    const bool shrinks = decoupled_ && o.weight_decay != 0;
    for (const auto& [name, param] : group_params(g)) {
      const Tensor grad = grad_of(param);
      if (!grad.defined()) continue;
      ParamState& s = state(name);
      const double t = static_cast<double>(++s.at("step").data_i64()[0]);
      const double bias_correction1 = 1 - std::pow(o.beta1, t);
      const double bias_correction2 = 1 - std::pow(o.beta2, t);
      const AdamCoefficients c{static_cast<float>(o.weight_decay),
                               static_cast<float>(o.beta1),
                               static_cast<float>(1 - o.beta1),
                               static_cast<float>(o.beta2),
                               static_cast<float>(1 - o.beta2),
                               static_cast<float>(std::sqrt(bias_correction2)),
                               static_cast<float>(o.eps),
                               static_cast<float>(-(lr_now / bias_correction1)),
                               l2};
      if (shrinks) {
        float* p = param.data();
        const int64_t n = param.numel();
#pragma omp parallel for simd if (n >= ops::kParallelGrain)
        for (int64_t i = 0; i < n; ++i) p[i] *= shrink;
      }
      float* max_v = o.amsgrad ? s.at("max_exp_avg_sq").data() : nullptr;
      auto* update = l2 ? (o.amsgrad ? adam_update<true, true> : adam_update<true, false>)
                        : (o.amsgrad ? adam_update<false, true> : adam_update<false, false>);
      update(param.data(), grad.data(), s.at("exp_avg").data(), s.at("exp_avg_sq").data(), max_v,
             param.numel(), c);
    }
  }
}

void Adam::set_momentum(size_t group, double m) {
  check_beta1(type(), m);
  options_.at(group).beta1 = m;
}

std::string Adam::options_repr(size_t group) const {
  const AdamOptions& o = options_[group];
  std::ostringstream out;
  out << "lr=" << lr(group) << ", betas=(" << o.beta1 << ", " << o.beta2 << "), eps=" << o.eps
      << ", weight_decay=" << o.weight_decay << ", amsgrad=" << (o.amsgrad ? "true" : "false");
  return out.str();
}

AdamOptions Adam::options(size_t group) const {
  AdamOptions o = options_.at(group);
  o.lr = lr(group);
  return o;
}

}  // namespace heed::optim
