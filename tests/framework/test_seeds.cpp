// train.seeds: initialization, data order and dropout each from a seed of its own, so that a
// study can vary one source with the others held fixed; and exact resume of such a run.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "framework/checkpoint.h"
#include "framework/error.h"
#include "framework/trainer.h"
#include "runs.h"
#include "temp_dir.h"

using namespace heed;
using testing::TempDir;

namespace {

std::vector<float> flat(const StateDict& state) {
  std::vector<float> all;
  for (const auto& [name, t] : state) {
    const std::vector<float> v = t.to_vector();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

// An LSTM run with dropout whose seeds are `seeds` (null: none given), `steps` steps long.
nlohmann::json recipe(const nlohmann::json& seeds, int64_t steps) {
  nlohmann::json r = testing::recipe_for("lstm");
  if (!seeds.is_null()) r["train"]["seeds"] = seeds;
  r["train"]["max_steps"] = steps;
  return r;
}

struct Outcome {
  std::vector<float> initial, trained;
  uint64_t epoch_key;
};

Outcome run(const nlohmann::json& seeds, const TempDir& dir, const std::string& name) {
  Trainer trainer(recipe(seeds, 3), dir.file(name));
  Outcome o;
  o.initial = flat(trainer.model().state_dict());
  trainer.train();
  o.trained = flat(trainer.model().state_dict());
  o.epoch_key = load_checkpoint(dir.file(name) + "/checkpoints/last.h5").progress.epoch_key;
  return o;
}

}  // namespace

TEST_CASE("train.seeds draws initialization, data order and dropout from seeds of their own") {
  TempDir dir;
  const nlohmann::json base = {{"init", 1}, {"data", 2}, {"dropout", 3}};
  const Outcome a = run(base, dir, "a");
  const Outcome again = run(base, dir, "again");
  nlohmann::json seeds = base;
  seeds["init"] = 9;
  const Outcome other_init = run(seeds, dir, "init");
  seeds = base;
  seeds["data"] = 9;
  const Outcome other_data = run(seeds, dir, "data");
  seeds = base;
  seeds["dropout"] = 9;
  const Outcome other_dropout = run(seeds, dir, "dropout");

  CHECK(a.trained == again.trained);
  // Initialization: only the init seed changes the initial parameters.
  CHECK(a.initial != other_init.initial);
  CHECK(a.initial == other_data.initial);
  CHECK(a.initial == other_dropout.initial);
  // Data order: only the data seed changes the epoch's order key.
  CHECK(a.epoch_key == other_init.epoch_key);
  CHECK(a.epoch_key != other_data.epoch_key);
  CHECK(a.epoch_key == other_dropout.epoch_key);
  // Dropout: same start, same order, other masks, so other parameters after training.
  CHECK(a.trained != other_dropout.trained);
}

TEST_CASE("train.seeds defaults each source to train.seed; its run resumes bit-identically") {
  TempDir dir;
  nlohmann::json given = recipe({{"data", 4}}, 0);
  given["train"]["seed"] = 11;
  CHECK(TrainOptions::from_config(Config(given["train"], "train")).seeds->init == 11);
  CHECK(TrainOptions::from_config(Config(given["train"], "train")).seeds->data == 4);
  CHECK(TrainOptions::from_config(Config(given["train"], "train")).seeds->dropout == 11);
  nlohmann::json unknown = given;
  unknown["train"]["seeds"]["shuffle"] = 1;
  CHECK_THROWS_WITH(TrainOptions::from_config(Config(unknown["train"], "train")),
                    doctest::Contains("unknown key \"train.seeds.shuffle\""));

  // 60 steps across 6 epochs, against 23 steps, a resume, and the rest.
  const nlohmann::json seeds = {{"init", 5}, {"data", 6}, {"dropout", 7}};
  Trainer whole(recipe(seeds, 60), dir.file("whole"));
  whole.train();
  {
    Trainer first(recipe(seeds, 23), dir.file("split"));
    first.train();
  }
  Trainer rest(recipe(seeds, 60), dir.file("split"));
  rest.restore(dir.file("split") + "/checkpoints/last.h5");
  rest.train();
  CHECK(flat(whole.model().state_dict()) == flat(rest.model().state_dict()));
  CHECK(load_checkpoint(dir.file("whole") + "/checkpoints/last.h5").data_rng.has_value());

  // A checkpoint with a data-order generator belongs to a recipe with train.seeds, and back.
  Trainer plain(recipe(nullptr, 60), dir.file("plain"));
  CHECK_THROWS_WITH(plain.restore(dir.file("whole") + "/checkpoints/last.h5"),
                    doctest::Contains("holds a data-order generator (rng/data_state), but the "
                                      "recipe has no train.seeds"));
}
