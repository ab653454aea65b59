#include "optim/rmsprop.h"

#include <cmath>
#include <sstream>

#include "framework/ops/iter.h"

namespace heed::optim {

namespace {

struct RMSpropCoefficients {
  float weight_decay, alpha, one_minus_alpha, eps, momentum, neg_lr;
};

// One parameter's update (the equations in rmsprop.h), one PyTorch op a line, with its rounding:
// `a.add_(b, alpha=s)` and addcmul_'s last addition are fused multiply-adds as in PyTorch's CPU
// kernels; addcdiv_ is self + value * t1 / t2.
template <bool kDecay, bool kCentered, bool kMomentum>
void rmsprop_update(float* p, const float* g, float* sq, float* grad_avg, float* buf, int64_t n,
                    const RMSpropCoefficients& c) {
#pragma omp parallel for simd if (n >= ops::kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    float grad = g[i];
    if constexpr (kDecay) grad = std::fma(p[i], c.weight_decay, grad);
    sq[i] = std::fma(c.one_minus_alpha * grad, grad, sq[i] * c.alpha);
    float avg;
    if constexpr (kCentered) {
      grad_avg[i] = std::fma(grad, c.one_minus_alpha, grad_avg[i] * c.alpha);
      avg = std::sqrt(std::fma(-grad_avg[i], grad_avg[i], sq[i]));
    } else {
      avg = std::sqrt(sq[i]);
    }
    avg = avg + c.eps;
    if constexpr (kMomentum) {
      buf[i] = buf[i] * c.momentum + grad / avg;  // buf.mul_(momentum).addcdiv_(grad, avg)
      p[i] = std::fma(buf[i], c.neg_lr, p[i]);    // param.add_(buf, alpha=-lr)
    } else {
      p[i] = p[i] + c.neg_lr * grad / avg;  // param.addcdiv_(grad, avg, value=-lr)
    }
  }
}

using Update = void (*)(float*, const float*, float*, float*, float*, int64_t,
                        const RMSpropCoefficients&);

template <bool kDecay>
Update kernel_for(bool centered, bool momentum) {
  if (centered)
    return momentum ? rmsprop_update<kDecay, true, true> : rmsprop_update<kDecay, true, false>;
  return momentum ? rmsprop_update<kDecay, false, true> : rmsprop_update<kDecay, false, false>;
}

void check_momentum(double momentum) {
  HEED_CHECK(momentum >= 0, "RMSprop: invalid momentum value: ", momentum);
}

}  // namespace

std::vector<Optimizer::StateSpec> RMSprop::state_spec(const RMSpropOptions& o) {
  using K = StateKind;
  std::vector<StateSpec> spec = {{"step", K::StepCount}, {"square_avg", K::LikeParam}};
  if (o.momentum > 0) spec.push_back({"momentum_buffer", K::LikeParam});
  if (o.centered) spec.push_back({"grad_avg", K::LikeParam});
  return spec;
}

RMSprop::RMSprop(StateDict params, RMSpropOptions options)
    : RMSprop(std::vector<ParamGroup<RMSpropOptions>>{{std::move(params), options}}) {}

RMSprop::RMSprop(std::vector<ParamGroup<RMSpropOptions>> groups)
    : Optimizer("RMSprop", group_specs(groups, state_spec)), options_(options_of(groups)) {
  for (const RMSpropOptions& o : options_) {
    HEED_CHECK(o.eps >= 0, "RMSprop: invalid epsilon value: ", o.eps);
    check_momentum(o.momentum);
    HEED_CHECK(o.weight_decay >= 0, "RMSprop: invalid weight_decay value: ", o.weight_decay);
    HEED_CHECK(o.alpha >= 0, "RMSprop: invalid alpha value: ", o.alpha);
  }
}

void RMSprop::step() {
  for (size_t g = 0; g < num_groups(); ++g) {
    const RMSpropOptions& o = options_[g];
    const RMSpropCoefficients c{static_cast<float>(o.weight_decay), static_cast<float>(o.alpha),
                                static_cast<float>(1 - o.alpha),    static_cast<float>(o.eps),
                                static_cast<float>(o.momentum),     static_cast<float>(-lr(g))};
    const Update update = o.weight_decay != 0 ? kernel_for<true>(o.centered, o.momentum > 0)
                                              : kernel_for<false>(o.centered, o.momentum > 0);
    for (const auto& [name, param] : group_params(g)) {
      const Tensor grad = grad_of(param);
      if (!grad.defined()) continue;
      ParamState& s = state(name);
      ++s.at("step").data_i64()[0];
      update(param.data(), grad.data(), s.at("square_avg").data(),
             o.centered ? s.at("grad_avg").data() : nullptr,
             o.momentum > 0 ? s.at("momentum_buffer").data() : nullptr, param.numel(), c);
    }
  }
}

void RMSprop::set_momentum(size_t group, double m) {
  check_momentum(m);
  RMSpropOptions& o = options_.at(group);
  o.momentum = m;
  if (m > 0) extend_state_spec(group, state_spec(o));
}

std::string RMSprop::options_repr(size_t group) const {
  const RMSpropOptions& o = options_[group];
  std::ostringstream out;
  out << "lr=" << lr(group) << ", alpha=" << o.alpha << ", eps=" << o.eps
      << ", weight_decay=" << o.weight_decay << ", momentum=" << o.momentum
      << ", centered=" << (o.centered ? "true" : "false");
  return out.str();
}

RMSpropOptions RMSprop::options(size_t group) const {
  RMSpropOptions o = options_.at(group);
  o.lr = lr(group);
  return o;
}

}  // namespace heed::optim
