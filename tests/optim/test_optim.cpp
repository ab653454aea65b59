// Optimizers: SGD and Adam trajectories against PyTorch, state dicts keyed by parameter name, and
// the errors a user sees. The reference numbers come from tests/fixtures/{adam, adam_amsgrad,
// sgd_momentum, sgd_nesterov}.json, float32 trajectories of torch.optim.Adam / torch.optim.SGD
// (PyTorch 1.13, foreach=False) written by tests/fixtures/make_fixtures.py.

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <map>
#include <memory>

#include "fixture.h"
#include "framework/ops/iter.h"
#include "gradcheck.h"
#include "optim/adam.h"
#include "optim/sgd.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;

namespace {

using Factory = std::function<std::unique_ptr<optim::Optimizer>(StateDict)>;

// The optimizer a fixture's config describes, with PyTorch's argument names.
std::unique_ptr<optim::Optimizer> from_config(const std::string& fixture, const nlohmann::json& c,
                                              StateDict params) {
  REQUIRE_FALSE(c.value("maximize", false));
  if (fixture.starts_with("adam"))
    return std::make_unique<optim::Adam>(
        std::move(params), optim::AdamOptions{.lr = c.at("lr").get<double>(),
                                              .beta1 = c.at("betas").at(0).get<double>(),
                                              .beta2 = c.at("betas").at(1).get<double>(),
                                              .eps = c.at("eps").get<double>(),
                                              .weight_decay = c.at("weight_decay").get<double>(),
                                              .amsgrad = c.at("amsgrad").get<bool>()});
  return std::make_unique<optim::SGD>(
      std::move(params), optim::SGDOptions{.lr = c.at("lr").get<double>(),
                                           .momentum = c.at("momentum").get<double>(),
                                           .dampening = c.at("dampening").get<double>(),
                                           .weight_decay = c.at("weight_decay").get<double>(),
                                           .nesterov = c.at("nesterov").get<bool>()});
}

// `t`'s values repeated `times` times, as a [times * rows, cols] tensor.
Tensor tile(const Tensor& t, int64_t times) {
  const std::vector<float> one = t.to_vector();
  std::vector<float> all;
  for (int64_t k = 0; k < times; ++k) all.insert(all.end(), one.begin(), one.end());
  return Tensor::from_vector(all, {times * t.size(0), t.size(1)});
}

const Tensor& entry(const StateDict& sd, const std::string& key) {
  for (const auto& [name, t] : sd)
    if (name == key) return t;
  FAIL("state dict has no key ", key);
  static const Tensor none;
  return none;
}

std::vector<std::string> keys_of(const StateDict& sd) {
  std::vector<std::string> keys;
  for (const auto& [name, t] : sd) keys.push_back(name);
  return keys;
}

// Runs the fixture's 3 steps on its parameter tiled `times` times (enough copies to take the
// OpenMP path), checking the parameter after every step and the state after the last one.
void check_trajectory(const std::string& fixture, const std::vector<std::string>& states,
                      int64_t times) {
  INFO("fixture ", fixture, ".json, parameter tiled ", times, " times");
  const auto f = heed::testing::load_fixture(fixture);
  const std::string name = "encoder.layers.0.weight";  // dots in the name are part of the test
  const Tensor param = tile(f.input("param"), times);
  auto opt = from_config(fixture, f.config, {{name, param}});
  // heed follows PyTorch's float32 order of operations and its fused multiply-adds, and agrees
  // to the bit on this machine; 1e-6 relative leaves room for another libm's pow or sqrt.
  const float rtol = 1e-6f, atol = 0.f;
  for (int t = 1; t <= 3; ++t) {
    param.set_grad(tile(f.input("grad" + std::to_string(t - 1)), times));
    opt->step();
    const std::string after = "param_after_step" + std::to_string(t);
    check_close(param.to_vector(), tile(f.output(after), times).to_vector(), atol, rtol, after);
  }
  const StateDict sd = opt->state_dict();
  for (const std::string& s : states)
    check_close(entry(sd, name + "." + s).to_vector(), tile(f.output(s), times).to_vector(), atol,
                rtol, s);
  if (fixture.starts_with("adam")) CHECK(entry(sd, name + ".step").item_i64() == 3);
}

// Parameters of equal shapes, so that state handed to the wrong parameter would go unnoticed by
// shape checks.
StateDict make_params(uint64_t seed) {
  Generator gen(seed);
  StateDict params;
  for (const std::string name : {"encoder.weight", "decoder.weight", "decoder.bias"})
    params.emplace_back(name, Tensor::randn(name.ends_with("bias") ? Shape{4} : Shape{3, 4}, gen));
  return params;
}

StateDict copy_params(const StateDict& params) {
  StateDict out;
  for (const auto& [name, t] : params) out.emplace_back(name, t.to(Dtype::Float32));
  return out;
}

// Gradients that depend on the parameter's name and the step only, never on its position.
void set_grads(const StateDict& params, int step) {
  for (const auto& [name, t] : params) {
    Generator gen(1000 * static_cast<uint64_t>(step) + name.size() + name.front() + name.back());
    t.set_grad(Tensor::randn(t.shape(), gen));
  }
}

// Steps `opt` over `params` with the gradients of steps first .. first + count - 1.
void take_steps(optim::Optimizer& opt, const StateDict& params, int first, int count) {
  for (int s = first; s < first + count; ++s) {
    set_grads(params, s);
    opt.step();
  }
}

std::map<std::string, std::vector<float>> values_by_name(const StateDict& sd) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, t] : sd)
    out[name] = t.dtype() == Dtype::Int64 ? std::vector<float>{static_cast<float>(t.item_i64())}
                                          : t.to_vector();
  return out;
}

// Steps both optimizers once more with the gradients of step 2: a resumed optimizer must then
// agree with the one that never stopped, parameters and state.
void check_next_step_agrees(optim::Optimizer& opt_a, const StateDict& a, optim::Optimizer& opt_b,
                            const StateDict& b) {
  take_steps(opt_a, a, 2, 1);
  take_steps(opt_b, b, 2, 1);
  CHECK(values_by_name(b) == values_by_name(a));
  CHECK(values_by_name(opt_b.state_dict()) == values_by_name(opt_a.state_dict()));
}

std::vector<std::pair<std::string, Factory>> factories() {
  using optim::Adam, optim::AdamOptions, optim::SGD, optim::SGDOptions;
  return {
      {"Adam", [](StateDict p) { return std::make_unique<Adam>(std::move(p)); }},
      {"Adam amsgrad weight_decay",
       [](StateDict p) {
         return std::make_unique<Adam>(
             std::move(p), AdamOptions{.lr = 1e-2, .weight_decay = 0.01, .amsgrad = true});
       }},
      {"SGD",
       [](StateDict p) { return std::make_unique<SGD>(std::move(p), SGDOptions{.lr = 0.1}); }},
      {"SGD momentum dampening",
       [](StateDict p) {
         return std::make_unique<SGD>(std::move(p),
                                      SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.3});
       }},
      {"SGD nesterov weight_decay",
       [](StateDict p) {
         return std::make_unique<SGD>(
             std::move(p),
             SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
       }},
  };
}

}  // namespace

TEST_CASE("optim: Adam and SGD follow PyTorch's trajectories (tests/fixtures/*.json)") {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"adam", {"exp_avg", "exp_avg_sq"}},
      {"adam_amsgrad", {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}},
      {"sgd_momentum", {"momentum_buffer"}},
      {"sgd_nesterov", {"momentum_buffer"}},
  };
  const int64_t parallel = ops::kParallelGrain / 12 + 1;  // [3,4] copies for the OpenMP path
  for (const auto& [fixture, states] : cases)
    for (int64_t times : {int64_t{1}, parallel}) check_trajectory(fixture, states, times);
}

TEST_CASE(
    "optim: SGD's momentum buffer starts as the gradient, dampening applies from step 2 "
    "(PyTorch)") {
  const Tensor w = Tensor::from_vector({1.f, -2.f, 3.f}, {3});
  optim::SGD sgd({{"w", w}}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
  const std::vector<float> g1 = {0.5f, 0.25f, -1.f}, g2 = {-0.75f, 1.5f, 2.f};
  w.set_grad(Tensor::from_vector(g1, {3}));
  sgd.step();
  CHECK(entry(sgd.state_dict(), "w.momentum_buffer").to_vector() == g1);
  w.set_grad(Tensor::from_vector(g2, {3}));
  sgd.step();
  std::vector<float> want(3);
  for (int i = 0; i < 3; ++i) want[i] = std::fma(g2[i], 0.5f, g1[i] * 0.9f);
  CHECK(entry(sgd.state_dict(), "w.momentum_buffer").to_vector() == want);
}

TEST_CASE(
    "optim: state_dict layout: '<parameter>.<state>', by parameter then state, only once stepped") {
  const StateDict params = make_params(1);
  optim::Adam adam(params, {.amsgrad = true});
  CHECK(adam.state_dict().empty());
  set_grads(params, 0);
  params[1].second.set_grad(Tensor());
  adam.step();
  CHECK(keys_of(adam.state_dict()) ==
        std::vector<std::string>{"encoder.weight.step", "encoder.weight.exp_avg",
                                 "encoder.weight.exp_avg_sq", "encoder.weight.max_exp_avg_sq",
                                 "decoder.bias.step", "decoder.bias.exp_avg",
                                 "decoder.bias.exp_avg_sq", "decoder.bias.max_exp_avg_sq"});
  const Tensor step = entry(adam.state_dict(), "decoder.bias.step");
  CHECK(step.dtype() == Dtype::Int64);
  CHECK(step.shape() == Shape{});
  CHECK(step.item_i64() == 1);

  optim::SGD plain(params, {.lr = 0.1});
  plain.step();
  CHECK(plain.state_dict().empty());  // no momentum, no state
}

TEST_CASE("optim: state_dict round trip: a resumed optimizer continues exactly") {
  for (const auto& [description, make] : factories()) {
    INFO(description);
    const StateDict a = make_params(2);
    auto opt_a = make(a);
    take_steps(*opt_a, a, 0, 2);
    const StateDict saved = opt_a->state_dict();
    const auto saved_values = values_by_name(saved);

    const StateDict b = copy_params(a);
    auto opt_b = make(b);
    opt_b->load_state_dict(saved);
    CHECK(values_by_name(opt_b->state_dict()) == saved_values);

    check_next_step_agrees(*opt_a, a, *opt_b, b);
    CHECK(values_by_name(saved) == saved_values);  // a snapshot, untouched by later steps
  }
}

TEST_CASE("optim: state is keyed by parameter name: another parameter order loads the same state") {
  for (const auto& [description, make] : factories()) {
    INFO(description);
    const StateDict a = make_params(3);
    auto opt_a = make(a);
    take_steps(*opt_a, a, 0, 2);
    const StateDict b = copy_params(a);
    const StateDict reversed(b.rbegin(), b.rend());
    auto opt_b = make(reversed);
    opt_b->load_state_dict(opt_a->state_dict());
    check_next_step_agrees(*opt_a, a, *opt_b, b);
  }
}

TEST_CASE("optim: bad hyper-parameters and parameter lists throw with the value in the message") {
  using optim::Adam, optim::SGD;
  const StateDict params = make_params(4);
  const Tensor w = params[0].second;
  const std::vector<std::pair<std::function<void()>, std::string>> cases = {
      {[&] { Adam(params, {.lr = -1}); }, "Adam: invalid learning rate: -1"},
      {[&] { Adam(params, {.lr = std::nan("")}); }, "Adam: invalid learning rate: nan"},
      {[&] { Adam(params, {.eps = -1e-8}); }, "Adam: invalid epsilon value: -1e-08"},
      {[&] { Adam(params, {.beta1 = 1}); }, "Adam: invalid beta parameter at index 0: 1"},
      {[&] { Adam(params, {.beta2 = -0.5}); }, "Adam: invalid beta parameter at index 1: -0.5"},
      {[&] { Adam(params, {.weight_decay = -0.01}); }, "Adam: invalid weight_decay value: -0.01"},
      {[&] { Adam(params).set_lr(-2); }, "Adam: invalid learning rate: -2"},
      {[&] { SGD(params, {.lr = -0.1}); }, "SGD: invalid learning rate: -0.1"},
      {[&] { SGD(params, {.momentum = -0.5}); }, "SGD: invalid momentum value: -0.5"},
      {[&] { SGD(params, {.weight_decay = -1}); }, "SGD: invalid weight_decay value: -1"},
      {[&] { SGD(params, {.nesterov = true}); },
       "SGD: Nesterov momentum requires a momentum and zero dampening, got momentum=0, "
       "dampening=0"},
      {[&] { SGD(params, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}); },
       "SGD: Nesterov momentum requires a momentum and zero dampening, got momentum=0.9, "
       "dampening=0.1"},
      {[&] { SGD(StateDict{}); }, "SGD: got an empty parameter list"},
      {[&] {
         Adam({{"w", w}, {"w", Tensor::zeros({2})}});
       },
       "Adam: parameter name 'w' appears twice"},
      {[&] {
         Adam({{"w", w}, {"v", w}});
       },
       "Adam: parameters 'w' and 'v' are the same tensor; pass it once"},
      {[&] {
         Adam({{"ids", Tensor::zeros({2}, Dtype::Int64)}});
       },
       "Adam: parameter 'ids' is int64, only float32 parameters can be optimized"},
      {[&] {
         SGD({{"w.t", Tensor::zeros({2, 3}).t()}});
       },
       "SGD: parameter 'w.t' of shape [3, 2] is not contiguous"},
  };
  for (const auto& [fn, message] : cases) CHECK(error_of(fn) == message);
}

TEST_CASE("optim: load_state_dict is strict, lists every bad key and changes nothing on failure") {
  const StateDict params = make_params(5);
  optim::Adam adam(params);
  set_grads(params, 0);
  adam.step();
  const auto before = values_by_name(adam.state_dict());

  StateDict bad;
  for (const auto& [name, t] : adam.state_dict()) {
    if (name == "encoder.weight.exp_avg_sq") continue;
    bad.emplace_back(name, name == "decoder.bias.exp_avg" ? Tensor::zeros({5}) : t);
  }
  bad.emplace_back("embedding.weight.exp_avg", Tensor::zeros({3, 4}));
  bad.emplace_back("decoder.weight.momentum_buffer", Tensor::zeros({3, 4}));
  CHECK(error_of([&] { adam.load_state_dict(bad); }) ==
        "load_state_dict: optimizer state does not match Adam(lr=0.001, betas=(0.9, 0.999), "
        "eps=1e-08, weight_decay=0, amsgrad=false): missing keys: encoder.weight.exp_avg_sq; "
        "unexpected keys: embedding.weight.exp_avg, decoder.weight.momentum_buffer; mis-shaped "
        "keys: decoder.bias.exp_avg (given float32 [5], parameter float32 [4]);");
  CHECK(values_by_name(adam.state_dict()) == before);

  StateDict float_step = adam.state_dict();
  float_step[0].second = Tensor::scalar(1.f);
  CHECK(
      error_of([&] {
        adam.load_state_dict(float_step);
      }).ends_with("mis-shaped keys: encoder.weight.step (given float32 [], expected int64 []);"));

  optim::Adam amsgrad(params, {.amsgrad = true});
  CHECK(
      error_of([&] { amsgrad.load_state_dict(adam.state_dict()); })
          .ends_with("missing keys: encoder.weight.max_exp_avg_sq, decoder.weight.max_exp_avg_sq, "
                     "decoder.bias.max_exp_avg_sq;"));

  optim::SGD momentum(params, {.momentum = 0.9});
  momentum.step();
  optim::SGD plain(params);
  CHECK(error_of([&] { plain.load_state_dict(momentum.state_dict()); })
            .ends_with("unexpected keys: encoder.weight.momentum_buffer, "
                       "decoder.weight.momentum_buffer, decoder.bias.momentum_buffer;"));

  adam.load_state_dict({});  // nothing stepped yet is a valid state
  CHECK(adam.state_dict().empty());
}

TEST_CASE("optim: a parameter without a gradient is skipped, state and step count included") {
  for (const auto& [description, make] : factories()) {
    INFO(description);
    const StateDict params = make_params(6);
    auto opt = make(params);
    set_grads(params, 0);
    const Tensor frozen = params[1].second;
    frozen.set_grad(Tensor());
    const auto before = values_by_name(params);
    opt->step();
    const auto after = values_by_name(params);
    CHECK(after.at("decoder.weight") == before.at("decoder.weight"));
    CHECK(after.at("encoder.weight") != before.at("encoder.weight"));
    for (const std::string& key : keys_of(opt->state_dict()))
      CHECK_FALSE(key.starts_with("decoder.weight."));

    const auto state = values_by_name(opt->state_dict());
    opt->zero_grad();
    for (const auto& [name, t] : params) CHECK_FALSE(t.grad().defined());
    opt->step();  // no gradients at all: nothing moves
    CHECK(values_by_name(params) == after);
    CHECK(values_by_name(opt->state_dict()) == state);
  }
}

TEST_CASE("optim: optimizers print themselves in one line, with the current learning rate") {
  const StateDict params = make_params(7);
  optim::Adam adam(params);
  CHECK(adam.repr() ==
        "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=false)");
  adam.set_lr(3e-4);
  CHECK(adam.lr() == 3e-4);
  CHECK(adam.options().lr == 3e-4);
  CHECK(adam.repr() ==
        "Adam(lr=0.0003, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=false)");
  optim::SGD sgd(params, {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4, .nesterov = true});
  CHECK(sgd.repr() == "SGD(lr=0.1, momentum=0.9, dampening=0, weight_decay=0.0001, nesterov=true)");
}
