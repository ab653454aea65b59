// Regression (layers/models/regression.h): the loss and metrics of hand-made predictions, and a
// sequence_classifier that regresses when its data's targets are values, with the errors of a loss
// that does not fit the targets.

#include <doctest/doctest.h>

#include <cmath>

#include "framework/error.h"
#include "framework/random.h"
#include "framework/registry.h"
#include "layers/models/regression.h"

using namespace heed;

namespace {

// A module to record predictions under.
class Owner : public Module {
 public:
  std::string repr() const override { return "Owner()"; }
};

nlohmann::json lstm_regressor(const std::string& loss) {
  return {{"type", "sequence_classifier"},
          {"encoder", {{"type", "lstm"}, {"hidden_size", 8}}},
          {"loss", loss}};
}

}  // namespace

TEST_CASE("regression output: mse or Huber loss, mse and mae metrics over the examples") {
  const Owner owner;
  const Tensor p = Tensor::from_vector({1.f, 2.f, 4.f}, {3, 1});
  const Tensor t = Tensor::from_vector({1.5f, 2.f, 1.f}, {3});  // errors -0.5, 0, 3
  const ModelOutput mse = nn::regression_output(owner, p, t, {"mse", 1.f});
  CHECK(mse.loss.item() == doctest::Approx((0.25 + 0 + 9) / 3));
  CHECK(mse.loss_count == 3);
  CHECK(mse.metrics.at("mse").sum == doctest::Approx(9.25));
  CHECK(mse.metrics.at("mae").sum == doctest::Approx(3.5));
  CHECK(mse.metrics.at("mae").value() == doctest::Approx(3.5 / 3));
  // Huber with delta 1: 0.5 * 0.25, 0, 1 * (3 - 0.5).
  const ModelOutput huber = nn::regression_output(owner, p, t, {"huber", 1.f});
  CHECK(huber.loss.item() == doctest::Approx((0.125 + 0 + 2.5) / 3));
  CHECK(huber.metrics.at("mse").sum == doctest::Approx(9.25));  // the metrics do not change
  CHECK_THROWS_WITH_AS(nn::regression_output(owner, Tensor::zeros({3, 2}), t, {}),
                       "regression: predictions [3, 2] and targets float32 [3] do not fit "
                       "(expected [batch, 1] and float32 [batch])",
                       Error);
}

TEST_CASE("sequence_classifier regresses on value targets, and says when the loss does not fit") {
  DataInfo values{{5, 2}, 1};
  values.target_kind = TargetKind::Value;
  Generator gen(3);
  const auto model = build_model(Config(lstm_regressor("huber"), "model"), values, gen);
  Batch batch{Tensor::rand({4, 5, 2}, gen), Tensor::rand({4}, gen)};
  const ModelOutput out = model->forward(batch);
  CHECK(out.loss.item() >= 0.f);
  CHECK(out.metrics.count("mse") == 1);
  CHECK(out.metrics.count("accuracy") == 0);

  CHECK_THROWS_WITH_AS(build_model(Config(lstm_regressor("cross_entropy"), "model"), values, gen),
                       doctest::Contains("\"model.loss\" is \"cross_entropy\", but the data's "
                                         "targets are real values (a regression): set it to "
                                         "\"mse\" or \"huber\""),
                       Error);
  CHECK_THROWS_WITH_AS(
      build_model(Config(lstm_regressor("mse"), "model"), DataInfo{{5, 2}, 10}, gen),
      doctest::Contains("\"model.loss\" is \"mse\", but the data's targets are "
                        "classes: leave it \"cross_entropy\""),
      Error);
}
