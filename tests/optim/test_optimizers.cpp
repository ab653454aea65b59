// Every optimizer against 20-step PyTorch trajectories (tests/fixtures/optim_*.json from
// tests/fixtures/make_optim_fixtures.py, torch 1.13), built from recipe sections as a run builds
// them, with parameter groups; and the recipe errors of the optimizer section.

#include <doctest/doctest.h>

#include "framework/trainer.h"
#include "optim/adagrad.h"
#include "optim/adamw.h"
#include "optim/rmsprop.h"
#include "optim/sgd.h"
#include "testing.h"
#include "trajectory.h"

using namespace heed;
using namespace heed::testing;

namespace {

StateDict model_like_params() {
  return {{"encoder.layers.0.linear1.weight", Tensor::zeros({4, 3})},
          {"encoder.layers.0.linear1.bias", Tensor::zeros({4})},
          {"encoder.layers.0.norm1.weight", Tensor::zeros({3})},
          {"encoder.layers.0.norm1.bias", Tensor::zeros({3})},
          {"fc.weight", Tensor::zeros({2, 3})},
          {"fc.bias", Tensor::zeros({2})}};
}

// The optimizer a recipe section builds, as optim's base class (group_params is not part of the
// trainer's interface, framework/optimizer.h).
std::unique_ptr<optim::Optimizer> from_recipe(const nlohmann::json& section) {
  std::unique_ptr<Optimizer> built =
      build_optimizer(Config(section, "optimizer"), model_like_params());
  auto* typed = dynamic_cast<optim::Optimizer*>(built.get());
  REQUIRE(typed != nullptr);
  built.release();
  return std::unique_ptr<optim::Optimizer>(typed);
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
       "recipe: \"optimizer.param_groups.0.params.0\": pattern \"*.bais\" matches no parameter"},
      {{{"name", "adamw"}, {"param_groups", {{{"params", {"*.bias"}}, {"weight_decy", 0}}}}},
       "unknown key \"optimizer.param_groups.0.weight_decy\"; did you mean \"weight_decay\"?"},
      {{{"name", "adamw"}, {"param_groups", {{{"weight_decay", 0}}}}},
       "\"optimizer.param_groups.0.params\" is required"},
      {{{"name", "rmsprop"}, {"alpha", -1}},
       "recipe: \"optimizer.alpha\" must be in [0, 1], got -1"},
      {{{"name", "adagrad"}, {"lr_decay", -1}},
       "recipe: \"optimizer.lr_decay\" must be >= 0, got -1"},
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

TEST_CASE("optim: the momentum a schedule sets, and the buffer it brings into the state") {
  auto keys = [](const StateDict& state) {
    std::vector<std::string> out;
    for (const auto& [name, t] : state) out.push_back(name);
    return out;
  };
  auto step = [](optim::Optimizer& opt, const Tensor& w, std::vector<float> grad) {
    w.set_grad(Tensor::from_vector(grad, {2}));
    opt.step();
  };
  // SGD built with momentum 0 (PyTorch's OneCycleLR sets group['momentum'] over it): the buffer
  // starts at the next step, as the step's gradient, and stays when the momentum returns to 0.
  const Tensor w = Tensor::zeros({2});
  optim::SGD sgd({{"w", w}}, {.lr = 0.1});
  step(sgd, w, {1, 2});
  CHECK(sgd.state_dict().empty());
  sgd.set_momentum(0, 0.9);
  CHECK(sgd.repr() == "SGD(lr=0.1, momentum=0.9, dampening=0, weight_decay=0, nesterov=false)");
  step(sgd, w, {1, 2});
  CHECK(keys(sgd.state_dict()) == std::vector<std::string>{"w.momentum_buffer"});
  CHECK(sgd.state_dict()[0].second.to_vector() == std::vector<float>{1, 2});
  sgd.set_momentum(0, 0);
  const std::vector<float> before = w.to_vector();
  step(sgd, w, {10, 10});  // plain SGD: the buffer is neither used nor changed
  CHECK(sgd.state_dict()[0].second.to_vector() == std::vector<float>{1, 2});
  CHECK(w.to_vector()[0] == doctest::Approx(before[0] - 1));
  // A resumed optimizer takes the buffer once the schedule has set its momentum again.
  optim::SGD fresh({{"w", Tensor::zeros({2})}}, {.lr = 0.1});
  CHECK(error_of([&] {
          fresh.load_state_dict(sgd.state_dict());
        }).find("unexpected keys: w.momentum_buffer") != std::string::npos);
  fresh.set_momentum(0, 0.95);
  fresh.load_state_dict(sgd.state_dict());
  CHECK(fresh.state_dict()[0].second.to_vector() == std::vector<float>{1, 2});

  // RMSprop already stepped without momentum: the buffer joins its state as zeros, in the
  // state's order, as PyTorch would have created it.
  const Tensor v = Tensor::zeros({2});
  optim::RMSprop rms({{"v", v}}, {.centered = true});
  step(rms, v, {1, 2});
  rms.set_momentum(0, 0.5);
  CHECK(rms.momentum(0) == 0.5);
  CHECK(keys(rms.state_dict()) ==
        std::vector<std::string>{"v.step", "v.square_avg", "v.momentum_buffer", "v.grad_avg"});
  CHECK(rms.state_dict()[2].second.to_vector() == std::vector<float>{0, 0});

  // Adam's and AdamW's beta1; the constructors' range checks; Adagrad has neither.
  optim::AdamW adamw({{"a", Tensor::zeros({2})}});
  CHECK(adamw.has_momentum());
  adamw.set_momentum(0, 0.85);
  CHECK(adamw.options().beta1 == 0.85);
  CHECK(adamw.momentum(0) == 0.85);
  CHECK(error_of([&] { adamw.set_momentum(0, 1); }) ==
        "AdamW: invalid beta parameter at index 0: 1");
  CHECK(error_of([&] { sgd.set_momentum(0, -0.5); }) == "SGD: invalid momentum value: -0.5");
  CHECK(error_of([&] { rms.set_momentum(0, -1); }) == "RMSprop: invalid momentum value: -1");
  optim::Adagrad adagrad({{"g", Tensor::zeros({2})}});
  CHECK(!adagrad.has_momentum());
  CHECK(error_of([&] { adagrad.set_momentum(0, 0.9); }) ==
        "Adagrad has no momentum or beta1 for a schedule to set");
  // Nesterov still needs a momentum at construction, as in PyTorch, whatever the schedule.
  CHECK(error_of([&] {
          from_recipe({{"name", "sgd"}, {"lr", 0.1}, {"nesterov", true}});
        }).find("SGD: Nesterov momentum requires a momentum") != std::string::npos);
}
