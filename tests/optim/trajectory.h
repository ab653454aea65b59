#pragma once
// Replays a tests/fixtures/optim_*.json trajectory (written by make_optim_fixtures.py with
// PyTorch 1.13): builds the optimizer and schedule from the fixture's heed recipe sections, sets
// the gradients PyTorch computed at each of the 20 steps, and compares the lr (and, where the
// fixture has them, the momentum) each step used and the parameters after each step to
// PyTorch's, within 1e-5 relative.

#include <doctest/doctest.h>

#include "fixture.h"
#include "framework/registry.h"
#include "gradcheck.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"

namespace heed::testing {

// Row `t` of a [steps, ...] tensor as a tensor of the remaining shape.
inline Tensor row(const Tensor& stacked, int64_t t) {
  const std::vector<float> all = stacked.to_vector();
  const Shape shape(stacked.shape().begin() + 1, stacked.shape().end());
  const int64_t n = stacked.numel() / stacked.size(0);
  return Tensor::from_vector(std::vector<float>(all.begin() + t * n, all.begin() + (t + 1) * n),
                             shape);
}

// `schedule_keys` are added to the fixture's schedule section.
inline void replay_trajectory(const std::string& fixture,
                              const nlohmann::json& schedule_keys = nlohmann::json::object()) {
  INFO("fixture ", fixture, ".json");
  const Fixture f = load_fixture(fixture);
  const Tensor weight = f.input("weight0"), bias = f.input("bias0");
  const StateDict params = {{"fc.weight", weight}, {"fc.bias", bias}};
  auto optimizer = build_optimizer(Config(f.config.at("optimizer"), "optimizer"), params);
  nlohmann::json root = {{"optimizer", f.config.at("optimizer")}};
  if (!f.config.at("schedule").is_null()) root["schedule"] = f.config.at("schedule");
  if (!schedule_keys.empty()) root["schedule"].update(schedule_keys);
  const Config root_config(root, "");
  auto scheduler = build_scheduler(root_config, *optimizer, 20, 1);
  const nlohmann::json& metrics = f.config.at("metrics");
  const Tensor lrs = f.output("lrs");
  const int64_t steps = lrs.size(0);
  REQUIRE(static_cast<int64_t>(optimizer->num_groups()) == lrs.size(1));
  const bool momentums = f.json.at("outputs").contains("momentums");
  CHECK(scheduler->cycles_momentum() == momentums);
  const float rtol = 1e-5f, atol = 1e-7f;
  for (int64_t t = 0; t < steps; ++t) {
    INFO("step ", t);
    std::vector<float> used;
    for (size_t g = 0; g < optimizer->num_groups(); ++g)
      used.push_back(static_cast<float>(optimizer->lr(g)));
    check_close(used, row(lrs, t).to_vector(), 0.f, rtol, "lr");
    if (momentums) {
      std::vector<float> momentum;
      for (size_t g = 0; g < optimizer->num_groups(); ++g)
        momentum.push_back(static_cast<float>(optimizer->momentum(g)));
      check_close(momentum, row(f.output("momentums"), t).to_vector(), 0.f, rtol, "momentum");
    }
    weight.set_grad(row(f.input("grad_weight"), t));
    bias.set_grad(row(f.input("grad_bias"), t));
    optimizer->step();
    if (metrics.is_null())
      scheduler->on_step();
    else
      scheduler->on_eval({{"loss", metrics[t]}, {"accuracy", metrics[t]}});
    check_close(weight.to_vector(), row(f.output("weight"), t).to_vector(), atol, rtol, "weight");
    check_close(bias.to_vector(), row(f.output("bias"), t).to_vector(), atol, rtol, "bias");
  }
}

}  // namespace heed::testing
