#include "optim/adamw.h"

namespace heed::optim {

namespace {

std::vector<ParamGroup<AdamOptions>> as_adam(std::vector<ParamGroup<AdamWOptions>> groups) {
  std::vector<ParamGroup<AdamOptions>> out;
  for (auto& [params, o] : groups)
    out.push_back({std::move(params), {o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad}});
  return out;
}

}  // namespace

AdamW::AdamW(StateDict params, AdamWOptions options)
    : AdamW(std::vector<ParamGroup<AdamWOptions>>{{std::move(params), options}}) {}

AdamW::AdamW(std::vector<ParamGroup<AdamWOptions>> groups)
    : Adam("AdamW", as_adam(std::move(groups)), /*decoupled=*/true) {}

}  // namespace heed::optim
