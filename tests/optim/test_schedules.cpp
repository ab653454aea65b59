// Learning-rate schedules against 20-step PyTorch trajectories (tests/fixtures/optim_sched_*.json
// from tests/fixtures/make_optim_fixtures.py: torch.optim.lr_scheduler over SGD with two groups
// of different base lrs), their state, and the recipe errors of the schedule section.

#include <doctest/doctest.h>

#include "optim/sgd.h"
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

StateDict two_params() {
  return {{"fc.weight", Tensor::zeros({2, 2})}, {"fc.bias", Tensor::zeros({2})}};
}

std::unique_ptr<optim::LRScheduler> scheduler_for(optim::Optimizer& opt,
                                                  const nlohmann::json& schedule,
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
        "optim_sched_one_cycle", "optim_sched_one_cycle_three_phase", "optim_sched_plateau",
        "optim_sched_plateau_max"})
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
      {{{"name", "one_cycle"}, {"cycle_momentum", true}},
       "recipe: \"schedule.cycle_momentum\": momentum cycling is not implemented"},
      {{{"name", "cosine"}, {"T_max", 0}},
       "recipe: \"schedule\": CosineAnnealingLR: T_max must be at least 1, got 0"},
      {{{{"name", "cosine"}}, {{"name", "step"}, {"step_size", 2}}},
       "recipe: \"schedule[1]\": a second schedule"},
      {{{"name", "warmup"}, {"warmup_steps", 5}, {"after", {{"name", "reduce_on_plateau"}}}},
       "reduce_on_plateau follows evaluations"},
      {{{"name", "reduce_on_plateau"}, {"factor", 2}},
       "ReduceLROnPlateau: factor should be < 1.0 and > 0, got 2"},
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
  auto cycle = scheduler_for(sgd, {{"name", "one_cycle"}, {"total_steps", 2}});
  cycle->on_step();
  cycle->on_step();
  CHECK(error_of([&] { cycle->on_step(); }) ==
        "OneCycleLR: tried to step 4 times; total_steps is 2");
}
