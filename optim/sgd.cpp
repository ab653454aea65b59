#include "optim/sgd.h"

#include <cmath>
#include <sstream>

#include "framework/ops/iter.h"

namespace heed::optim {

namespace {

// Float32 coefficients, each rounded once from its double as PyTorch rounds a Python scalar.
struct SGDCoefficients {
  float weight_decay, momentum, one_minus_dampening, neg_lr;
  bool decay, use_momentum, nesterov;
};

// One parameter's update (the equations in sgd.h); `buf` is only used with kMomentum, and
// `first` says it is not initialized yet. `a.add(b, alpha=s)` is a fused multiply-add in
// PyTorch's CPU kernels (vec::fmadd), and buf.mul_(momentum) a rounded op of its own; spelling
// the fma out keeps that rounding whatever the compiler would contract. The options are template
// parameters so that the loop has no branches to keep it from being vectorized.
template <bool kDecay, bool kMomentum, bool kNesterov>
void sgd_update(float* p, const float* g, float* buf, int64_t n, const SGDCoefficients& c,
                bool first) {
#pragma omp parallel for simd if (n >= ops::kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i];
    if constexpr (kDecay) d = std::fma(p[i], c.weight_decay, d);  // d.add(p, alpha=weight_decay)
    if constexpr (kMomentum) {
      // buf = clone(d) at the first step, else buf.mul_(momentum).add_(d, alpha=1-dampening)
      buf[i] = first ? d : std::fma(d, c.one_minus_dampening, buf[i] * c.momentum);
      if constexpr (kNesterov)
        d = std::fma(buf[i], c.momentum, d);  // d.add(buf, alpha=momentum)
      else
        d = buf[i];
    }
    p[i] = std::fma(d, c.neg_lr, p[i]);  // param.add_(d, alpha=-lr)
  }
}

using SGDUpdate = void (*)(float*, const float*, float*, int64_t, const SGDCoefficients&, bool);

void check_momentum(double momentum) {
  HEED_CHECK(momentum >= 0, "SGD: invalid momentum value: ", momentum);
}

SGDUpdate sgd_kernel(bool decay, bool momentum, bool nesterov) {
  if (!momentum) return decay ? sgd_update<true, false, false> : sgd_update<false, false, false>;
  if (nesterov) return decay ? sgd_update<true, true, true> : sgd_update<false, true, true>;
  return decay ? sgd_update<true, true, false> : sgd_update<false, true, false>;
}

}  // namespace

std::vector<Optimizer::StateSpec> SGD::state_spec(const SGDOptions& o) {
  if (o.momentum == 0) return {};
  return {{"momentum_buffer", StateKind::LikeParam}};
}

SGD::SGD(StateDict params, SGDOptions options)
    : SGD(std::vector<ParamGroup<SGDOptions>>{{std::move(params), options}}) {}

SGD::SGD(std::vector<ParamGroup<SGDOptions>> groups)
    : Optimizer("SGD", group_specs(groups, state_spec)), options_(options_of(groups)) {
  for (const SGDOptions& o : options_) {
    check_momentum(o.momentum);
    HEED_CHECK(o.weight_decay >= 0, "SGD: invalid weight_decay value: ", o.weight_decay);
    HEED_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
               "SGD: Nesterov momentum requires a momentum and zero dampening, got momentum=",
               o.momentum, ", dampening=", o.dampening);
  }
}

void SGD::step() {
  for (size_t g = 0; g < num_groups(); ++g) {
    const SGDOptions& o = options_[g];
    const SGDCoefficients c{static_cast<float>(o.weight_decay),
                            static_cast<float>(o.momentum),
                            static_cast<float>(1 - o.dampening),
                            static_cast<float>(-lr(g)),
                            o.weight_decay != 0,
                            o.momentum != 0,
                            o.nesterov};
    for (const auto& [name, param] : group_params(g)) {
      const Tensor grad = grad_of(param);
      if (!grad.defined()) continue;
      float* buf = nullptr;
      bool first = false;
      if (c.use_momentum) {
        first = find_state(name) == nullptr;
        buf = state(name).at("momentum_buffer").data();
      }
      sgd_kernel(c.decay, c.use_momentum, c.nesterov)(param.data(), grad.data(), buf, param.numel(),
                                                      c, first);
    }
  }
}

void SGD::set_momentum(size_t group, double m) {
  check_momentum(m);
  SGDOptions& o = options_.at(group);
  o.momentum = m;
  if (m != 0) extend_state_spec(group, state_spec(o));
}

std::string SGD::options_repr(size_t group) const {
  const SGDOptions& o = options_[group];
  std::ostringstream out;
  out << "lr=" << lr(group) << ", momentum=" << o.momentum << ", dampening=" << o.dampening
      << ", weight_decay=" << o.weight_decay << ", nesterov=" << (o.nesterov ? "true" : "false");
  return out.str();
}

SGDOptions SGD::options(size_t group) const {
  SGDOptions o = options_.at(group);
  o.lr = lr(group);
  return o;
}

}  // namespace heed::optim
