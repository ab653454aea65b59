// Learning-rate schedules against 20-step PyTorch trajectories (tests/fixtures/optim_sched_*.json
// from tests/fixtures/make_optim_fixtures.py: torch.optim.lr_scheduler over SGD with two groups
// of different base lrs), their state, and the recipe errors of the schedule section.

#include <doctest/doctest.h>

#include "optim/adagrad.h"
#include "optim/adam.h"
#include "optim/sgd.h"
#include "testing.h"
#include "trajectory.h"

using namespace heed;
using namespace heed::testing;

namespace {

StateDict two_params() {
  return {{"fc.weight", Tensor::zeros({2, 2})}, {"fc.bias", Tensor::zeros({2})}};
}

std::unique_ptr<LRScheduler> scheduler_for(Optimizer& opt, const nlohmann::json& schedule,
                                           int64_t steps = 100, int64_t epochs = 10) {
  const nlohmann::json root = {{"schedule", schedule}};
  return build_scheduler(Config(root, ""), opt, steps, epochs);
}

}  // namespace

TEST_CASE("schedules: every schedule follows PyTorch for 20 steps, per group (optim_sched_*)") {
  for (const char* fixture :
       {"optim_sched_step", "optim_sched_multi_step", "optim_sched_exponential",
        "optim_sched_cosine", "optim_sched_cosine_warm_restarts", "optim_sched_warmup_cosine",
        "optim_sched_warmup_exponential", "optim_sched_noam", "optim_sched_inverse_sqrt",
        "optim_sched_plateau", "optim_sched_plateau_max"})
    heed::testing::replay_trajectory(fixture);
  // These two were made with PyTorch's cycle_momentum=False (their description says so) before
  // heed had the key, whose default is now PyTorch's true.
  for (const char* fixture : {"optim_sched_one_cycle", "optim_sched_one_cycle_three_phase"})
    heed::testing::replay_trajectory(fixture, {{"cycle_momentum", false}});
}

TEST_CASE("schedules: one_cycle cycles the momentum as PyTorch does, step for step") {
  // SGD with two groups (defaults 0.85 / 0.95); Adam's beta1; three_phase, linear, per-group
  // lists under Nesterov; SGD and RMSprop built with momentum 0, whose buffers the cycling
  // creates.
  for (const char* fixture :
       {"optim_sched_one_cycle_momentum", "optim_sched_one_cycle_momentum_adam",
        "optim_sched_one_cycle_momentum_three_phase", "optim_sched_one_cycle_momentum_sgd_zero",
        "optim_sched_one_cycle_momentum_rmsprop"})
    heed::testing::replay_trajectory(fixture);
}

TEST_CASE("schedules: interval epoch advances on epochs only, and T_max defaults to the run") {
  optim::SGD sgd(two_params(), {.lr = 1.0});
  auto s = scheduler_for(sgd, {{"name", "cosine"}, {"interval", "epoch"}}, 1000, 4);
  s->on_step();
  CHECK(sgd.lr() == 1.0);
  s->on_epoch();
  CHECK(sgd.lr() == doctest::Approx(0.5 * (1 + std::cos(M_PI / 4))));
  s->on_epoch();
  CHECK(sgd.lr() == doctest::Approx(0.5));

  optim::SGD fresh(two_params(), {.lr = 1.0});
  auto w = scheduler_for(
      fresh, {{"name", "warmup"}, {"warmup_steps", 10}, {"after", {{"name", "cosine"}}}}, 110, 1);
  for (int i = 0; i < 60; ++i) w->on_step();  // 10 warm-up steps, then half of T_max = 100
  CHECK(fresh.lr() == doctest::Approx(0.5));
}

TEST_CASE("schedules: state_dict round trip resumes the same lrs, plateau counters included") {
  const nlohmann::json schedule = {
      {{"name", "warmup"}, {"warmup_steps", 3}, {"after", {{"name", "cosine"}, {"T_max", 10}}}},
      {{"name", "reduce_on_plateau"}, {"patience", 0}, {"factor", 0.5}}};
  optim::SGD a(two_params(), {.lr = 0.1}), b(two_params(), {.lr = 0.1});
  auto sa = scheduler_for(a, schedule), sb = scheduler_for(b, schedule);
  const std::vector<double> losses = {1.0, 0.9, 0.95, 0.97, 0.8, 0.85};
  for (int i = 0; i < 5; ++i) {
    sa->on_step();
    sa->on_eval({{"loss", losses[i]}});
  }
  sb->load_state_dict(nlohmann::json::parse(sa->state_dict().dump()));
  CHECK(b.lr(0) == a.lr(0));
  CHECK(b.lr(0) < 0.05);  // the plateau's reductions are restored, not only the position
  sa->on_eval({{"loss", losses[5]}});
  sb->on_eval({{"loss", losses[5]}});
  sa->on_step();
  sb->on_step();
  CHECK(b.lr(0) == a.lr(0));
  CHECK(sb->state_dict() == sa->state_dict());

  optim::SGD c(two_params(), {.lr = 0.1});
  auto other = scheduler_for(c, {{"name", "cosine"}, {"T_max", 10}});
  CHECK(error_of([&] { other->load_state_dict(sa->state_dict()); }) ==
        "schedule: the checkpoint was saved with schedule \"warmup>cosine+reduce_on_plateau\", "
        "the recipe asks for \"cosine\"; a run cannot change its schedule");
}

TEST_CASE("schedules: recipe errors list the valid names and name the path") {
  optim::SGD sgd(two_params(), {.lr = 0.1});
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      {{{"name", "cosin"}},
       "unknown schedule \"cosin\" at \"schedule.name\"; did you mean \"cosine\"?"},
      {{{"name", "linear"}},
       "step, multi_step, exponential, cosine, cosine_warm_restarts, warmup, noam, "
       "inverse_sqrt, one_cycle, reduce_on_plateau"},
      {{{"name", "cosine"}, {"T_maxx", 3}},
       "unknown key \"schedule.T_maxx\"; did you mean \"T_max\"?"},
      {{{"name", "warmup"}, {"warmup_steps", 5}, {"after", {{"name", "cosnie"}}}},
       "unknown schedule \"cosnie\" at \"schedule.after.name\""},
      {{{"name", "step"}}, "missing required key \"schedule.step_size\""},
      {{{"name", "cosine"}, {"interval", "batch"}},
       "unknown value \"batch\" at \"schedule.interval\" (valid: step, epoch)"},
      {{{"name", "one_cycle"}, {"base_momentum", {0.8, 0.9}}},
       "recipe: \"schedule.base_momentum\" must be a number or a list of one number per "
       "parameter group (1: group 0, then each of optimizer.param_groups), got [0.8,0.9]"},
      {{{"name", "one_cycle"}, {"max_momentum", -0.5}},
       "recipe: \"schedule.max_momentum\" must be in [0, 1], got -0.5"},
      {{{"name", "cosine"}, {"T_max", 0}},
       "recipe: \"schedule.T_max\" must be in [1, 1099511627776], got 0"},
      {{{{"name", "cosine"}}, {{"name", "step"}, {"step_size", 2}}},
       "recipe: \"schedule.1\": a second schedule"},
      {{{"name", "warmup"}, {"warmup_steps", 5}, {"after", {{"name", "reduce_on_plateau"}}}},
       "reduce_on_plateau follows evaluations"},
      {{{"name", "reduce_on_plateau"}, {"factor", 2}},
       "recipe: \"schedule.factor\" must be in (0, 1), got 2"},
  };
  for (const auto& [schedule, message] : cases) {
    const std::string got = error_of([&] { scheduler_for(sgd, schedule); });
    CHECK_MESSAGE(got.find(message) != std::string::npos, got);
  }
  auto plateau = scheduler_for(sgd, {{"name", "reduce_on_plateau"}, {"metric", "acc"}});
  CHECK(error_of([&] {
          plateau->on_eval({{"loss", 1.0}, {"accuracy", 0.5}, {"split", "test"}});
        }) ==
        "reduce_on_plateau: the evaluation has no metric \"acc\" (available: accuracy, loss)");
  // A run longer than total_steps is refused by the recipe (test_recipe_bounds.cpp); the class
  // itself still refuses to step past it.
  auto cycle = scheduler_for(sgd, {{"name", "one_cycle"}, {"total_steps", 2}}, 2);
  cycle->on_step();
  cycle->on_step();
  CHECK(error_of([&] { cycle->on_step(); }) ==
        "OneCycleLR: tried to step 4 times; total_steps is 2");
}

TEST_CASE("schedules: one_cycle's momentum runs inversely to the lr, and Adagrad has none") {
  // total_steps 10, pct_start 0.3: the lr peaks (and the momentum bottoms) at t = 2.
  optim::SGD sgd(two_params(), {.lr = 0.1});  // momentum 0: the schedule sets 0.95 at once
  auto s = scheduler_for(sgd, {{"name", "one_cycle"}, {"total_steps", 10}}, 10);
  CHECK(s->cycles_momentum());
  CHECK(sgd.momentum(0) == doctest::Approx(0.95));
  s->on_step();
  s->on_step();
  CHECK(sgd.lr() == doctest::Approx(0.1));
  CHECK(sgd.momentum(0) == doctest::Approx(0.85));
  for (int i = 0; i < 7; ++i) s->on_step();
  CHECK(sgd.momentum(0) == doctest::Approx(0.95));
  CHECK(s->repr() ==
        "LRScheduler(interval=step, OneCycleLR(total_steps=10, max_lr=base lr, pct_start=0.3, "
        "anneal_strategy=cos, div_factor=25, final_div_factor=10000, three_phase=false, "
        "cycle_momentum=true, base_momentum=0.85, max_momentum=0.95))");

  // load_state_dict sets the momentum of the saved t, as it sets the lr.
  optim::SGD resumed(two_params(), {.lr = 0.1, .momentum = 0.5});
  auto r = scheduler_for(resumed, {{"name", "one_cycle"}, {"total_steps", 10}}, 10);
  r->load_state_dict(s->state_dict());
  CHECK(resumed.momentum(0) == sgd.momentum(0));

  // cycle_momentum false leaves the optimizer's momentum alone.
  optim::SGD plain(two_params(), {.lr = 0.1, .momentum = 0.5});
  auto p = scheduler_for(plain, {{"name", "one_cycle"}, {"cycle_momentum", false}});
  p->on_step();
  CHECK(!p->cycles_momentum());
  CHECK(plain.momentum(0) == 0.5);

  // Adam's beta1, with the optimizer's checks.
  optim::Adam adam(two_params(), {.lr = 0.01});
  auto a = scheduler_for(adam, {{"name", "one_cycle"}, {"max_momentum", 0.9}});
  CHECK(adam.options().beta1 == doctest::Approx(0.9));
  CHECK(adam.options().beta2 == 0.999);
  optim::Adam bad(two_params(), {.lr = 0.01});
  // A momentum of 1 is in the schedule's range [0, 1], but Adam's beta1 must stay below 1.
  CHECK(error_of([&] {
          scheduler_for(bad, {{"name", "one_cycle"}, {"max_momentum", 1.0}});
        }) == "recipe: \"schedule\": Adam: invalid beta parameter at index 0: 1");

  // PyTorch: ValueError('optimizer must support momentum with `cycle_momentum` option enabled').
  optim::Adagrad adagrad(two_params(), {.lr = 0.1});
  CHECK(error_of([&] {
          scheduler_for(adagrad, {{"name", "one_cycle"}});
        }) ==
        "recipe: \"schedule\": one_cycle: cycle_momentum needs an optimizer with a momentum "
        "(sgd, rmsprop) or a beta1 (adam, adamw), and Adagrad has neither; set cycle_momentum to "
        "false");
  CHECK(error_of([&] {
          scheduler_for(adagrad, {{{"name", "one_cycle"}}, {{"name", "reduce_on_plateau"}}});
        }).find("recipe: \"schedule.0\": one_cycle: cycle_momentum needs") == 0);
  auto no_cycling = scheduler_for(adagrad, {{"name", "one_cycle"}, {"cycle_momentum", false}});
  CHECK(!no_cycling->cycles_momentum());
}

TEST_CASE("schedules: a warm-up before one_cycle holds one_cycle's first momentum") {
  optim::SGD sgd(two_params(), {.lr = 0.1, .momentum = 0.5});
  auto s = scheduler_for(
      sgd, {{"name", "warmup"}, {"warmup_steps", 3}, {"after", {{"name", "one_cycle"}}}}, 13);
  CHECK(s->cycles_momentum());
  for (int t = 0; t < 4; ++t) {
    CHECK(sgd.momentum(0) == doctest::Approx(0.95));
    s->on_step();
  }
  // one_cycle over the 10 remaining steps, at its own t = 1 of 10: between 0.95 and 0.85.
  CHECK(sgd.momentum(0) < 0.95);
  CHECK(sgd.momentum(0) > 0.85);
}

TEST_CASE("schedules: per-group base_momentum and max_momentum follow param_groups' order") {
  const StateDict params = two_params();
  auto sgd = build_optimizer(
      Config({{"name", "sgd"}, {"lr", 0.1}, {"param_groups", {{{"params", {"*.bias"}}}}}},
             "optimizer"),
      params);
  auto s = scheduler_for(
      *sgd, {{"name", "one_cycle"}, {"base_momentum", {0.8, 0.7}}, {"max_momentum", {0.9, 0.99}}});
  CHECK(sgd->momentum(0) == doctest::Approx(0.9));
  CHECK(sgd->momentum(1) == doctest::Approx(0.99));
  CHECK(s->repr().find("base_momentum=[0.8, 0.7], max_momentum=[0.9, 0.99]") != std::string::npos);
}
