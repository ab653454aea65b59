// Every optimizer against 20-step PyTorch trajectories (tests/fixtures/optim_*.json from
// tests/fixtures/make_optim_fixtures.py, torch 1.13), built from recipe sections as a run builds
// them, with parameter groups; and the recipe errors of the optimizer section.

#include <doctest/doctest.h>

#include "framework/trainer.h"
#include "optim/adagrad.h"
#include "optim/adamw.h"
#include "optim/rmsprop.h"
#include "trajectory.h"

using namespace heed;

namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no heed::Error thrown)";
}

StateDict model_like_params() {
  return {{"encoder.layers.0.linear1.weight", Tensor::zeros({4, 3})},
          {"encoder.layers.0.linear1.bias", Tensor::zeros({4})},
          {"encoder.layers.0.norm1.weight", Tensor::zeros({3})},
          {"encoder.layers.0.norm1.bias", Tensor::zeros({3})},
          {"fc.weight", Tensor::zeros({2, 3})},
          {"fc.bias", Tensor::zeros({2})}};
}

std::unique_ptr<optim::Optimizer> from_recipe(const nlohmann::json& section) {
  return build_optimizer(Config(section, "optimizer"), model_like_params());
}

}  // namespace

TEST_CASE("optim: every optimizer follows PyTorch for 20 steps (optim_*.json)") {
  for (const char* fixture :
       {"optim_sgd", "optim_sgd_nesterov", "optim_sgd_groups", "optim_adam_amsgrad", "optim_adamw",
        "optim_adamw_defaults", "optim_adamw_groups", "optim_rmsprop", "optim_rmsprop_centered",
        "optim_adagrad"})
    heed::testing::replay_trajectory(fixture);
}

TEST_CASE("optim: PyTorch's defaults for AdamW, RMSprop and Adagrad") {
  const StateDict params = model_like_params();
  CHECK(optim::AdamW(params).repr() ==
        "AdamW(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, amsgrad=false)");
  CHECK(optim::RMSprop(params).repr() ==
        "RMSprop(lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0, momentum=0, centered=false)");
  CHECK(optim::Adagrad(params).repr() ==
        "Adagrad(lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10)");
}

TEST_CASE("optim: param_groups by name pattern, first match wins, the rest in group 0") {
  auto opt = from_recipe({{"name", "adamw"},
                          {"lr", 0.001},
                          {"param_groups",
                           {{{"params", {"*norm*"}}, {"weight_decay", 0}, {"lr", 0.01}},
                            {{"params", {"*.bias"}}, {"weight_decay", 0}}}}});
  REQUIRE(opt->num_groups() == 3);
  auto names = [&](size_t g) {
    std::vector<std::string> out;
    for (const auto& [name, t] : opt->group_params(g)) out.push_back(name);
    return out;
  };
  CHECK(names(0) == std::vector<std::string>{"encoder.layers.0.linear1.weight", "fc.weight"});
  CHECK(names(1) ==
        std::vector<std::string>{"encoder.layers.0.norm1.weight", "encoder.layers.0.norm1.bias"});
  CHECK(names(2) == std::vector<std::string>{"encoder.layers.0.linear1.bias", "fc.bias"});
  CHECK(opt->lr(1) == 0.01);
  CHECK(opt->lr(2) == 0.001);
  CHECK(opt->repr() ==
        "AdamW(group 0 [2 params]: lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, "
        "amsgrad=false; group 1 [2 params]: lr=0.01, betas=(0.9, 0.999), eps=1e-08, "
        "weight_decay=0, amsgrad=false; group 2 [2 params]: lr=0.001, betas=(0.9, 0.999), "
        "eps=1e-08, weight_decay=0, amsgrad=false)");
}

TEST_CASE("optim: recipe errors name the path, list valid names and catch dead patterns") {
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      {{{"name", "adamx"}},
       "unknown optimizer \"adamx\" at \"optimizer.name\"; did you mean \"adam\"?"},
      {{{"name", "lbfgs"}}, "sgd, adam, adamw, rmsprop, adagrad"},
      {{{"name", "adamw"}, {"param_groups", {{{"params", {"*.bais"}}, {"weight_decay", 0}}}}},
       "recipe: \"optimizer.param_groups[0].params\": pattern \"*.bais\" matches no parameter"},
      {{{"name", "adamw"}, {"param_groups", {{{"params", {"*.bias"}}, {"weight_decy", 0}}}}},
       "unknown key \"optimizer.param_groups[0].weight_decy\"; did you mean \"weight_decay\"?"},
      {{{"name", "adamw"}, {"param_groups", {{{"weight_decay", 0}}}}},
       "\"optimizer.param_groups[0].params\" is required"},
      {{{"name", "rmsprop"}, {"alpha", -1}},
       "recipe: \"optimizer\": RMSprop: invalid alpha value: -1"},
      {{{"name", "adagrad"}, {"lr_decay", -1}},
       "recipe: \"optimizer\": Adagrad: invalid lr_decay value: -1"},
      {{{"name", "sgd"}, {"lr", 0.1}, {"momentun", 0.9}}, "did you mean \"momentum\"?"},
  };
  for (const auto& [section, message] : cases) {
    const std::string got = error_of([&] { from_recipe(section); });
    CHECK_MESSAGE(got.find(message) != std::string::npos, got);
  }
}

TEST_CASE("optim: AdamW's and RMSprop's state dicts round-trip and resume exactly") {
  for (const nlohmann::json& section :
       {nlohmann::json{{"name", "adamw"}, {"amsgrad", true}},
        nlohmann::json{{"name", "rmsprop"}, {"centered", true}, {"momentum", 0.5}},
        nlohmann::json{{"name", "adagrad"}, {"initial_accumulator_value", 0.2}}}) {
    INFO(section.dump());
    Generator gen(1);
    StateDict a = model_like_params(), b = model_like_params();
    for (auto& [name, t] : a) t = Tensor::randn(t.shape(), gen);
    for (size_t i = 0; i < a.size(); ++i) b[i].second = a[i].second.to(Dtype::Float32);
    auto opt_a = build_optimizer(Config(section, "optimizer"), a);
    auto opt_b = build_optimizer(Config(section, "optimizer"), b);
    auto set_grads = [](const StateDict& params, uint64_t seed) {
      Generator g(seed);
      for (const auto& [name, t] : params) t.set_grad(Tensor::randn(t.shape(), g));
    };
    set_grads(a, 5);
    opt_a->step();
    opt_b->load_state_dict(opt_a->state_dict());
    for (size_t i = 0; i < a.size(); ++i) b[i].second.copy_(a[i].second);
    set_grads(a, 6);
    set_grads(b, 6);
    opt_a->step();
    opt_b->step();
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].second.to_vector() == b[i].second.to_vector());
  }
}
