// Gradient clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_
// (tests/fixtures/optim_clip.json from tests/fixtures/make_optim_fixtures.py).

#include <doctest/doctest.h>

#include "fixture.h"
#include "framework/clip.h"
#include "gradcheck.h"

using namespace heed;

TEST_CASE("clip: clip_grad_norm_ (2, 3, inf) and clip_grad_value_ match PyTorch") {
  const auto f = heed::testing::load_fixture("optim_clip");
  const std::vector<std::string> names = {"a.weight", "a.bias", "b.weight"};
  for (const auto& c : f.config.at("cases")) {
    const std::string tag = c.at("name");
    INFO(tag);
    StateDict params;
    for (const std::string& name : names) {
      const Tensor grad = f.input("grad/" + name);
      Tensor p = Tensor::zeros(grad.shape());
      p.set_grad(grad);
      params.emplace_back(name, p);
    }
    if (c.at("kind") == "norm") {
      const double norm_type =
          c.at("norm_type").is_string() ? kInfNorm : c.at("norm_type").get<double>();
      const double total = clip_grad_norm_(params, c.at("value").get<double>(), norm_type);
      CHECK(total == doctest::Approx(f.output(tag + "/total_norm").item()).epsilon(1e-6));
    } else {
      clip_grad_value_(params, c.at("value").get<double>());
    }
    for (const auto& [name, p] : params)
      heed::testing::check_close(p.grad().to_vector(), f.output(tag + "/" + name).to_vector(),
                                 1e-7f, 1e-6f, name);
  }
}

TEST_CASE("clip: parameters without gradients are skipped, and bad arguments are errors") {
  Tensor a = Tensor::zeros({2}), b = Tensor::zeros({2});
  a.set_grad(Tensor::from_vector({3.f, 4.f}, {2}));
  CHECK(clip_grad_norm_({{"a", a}, {"b", b}}, 1.0) == doctest::Approx(5.0));
  CHECK(a.grad().to_vector()[0] == doctest::Approx(0.6).epsilon(1e-5));
  CHECK_FALSE(b.grad().defined());
  CHECK(clip_grad_norm_({{"b", b}}, 1.0) == 0.0);
  CHECK_THROWS_WITH(clip_grad_norm_({{"a", a}}, -1.0),
                    "clip_grad_norm_: max_norm must be >= 0, got -1");
  CHECK_THROWS_WITH(clip_grad_norm_({{"a", a}}, 1.0, 0.5),
                    "clip_grad_norm_: norm_type must be >= 1 or inf, got 0.5");
  CHECK_THROWS_WITH(clip_grad_value_({{"a", a}}, -0.1),
                    "clip_grad_value_: clip_value must be >= 0, got -0.1");
}
