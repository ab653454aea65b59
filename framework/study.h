#pragma once
// Studies: the JSON files `heed compare` reads, a comparison of model variants across seeds.
//
//   {
//     "description": "attention against none on G2P",
//     "base": "../recipes/cmudict/lstm_additive.json",
//     "variants": [
//       {"name": "none", "set": {"model.decoder.attention": "none"}},
//       {"name": "additive"},
//       {"name": "luong-general", "set": {"model.decoder.attention": "luong_general",
//                                         "model.decoder.input_feeding": true}}
//     ],
//     "grid": {"train.batch_size": [32, 64]},
//     "seeds": [1, 2, 3],
//     "metrics": [{"name": "wer", "mode": "min"}, {"name": "per", "mode": "min"}],
//     "baseline": "none"
//   }
//
// `base` is a recipe file (relative to the study) or a recipe object (its includes relative to
// the study). A variant's `set` holds recipe paths, as `heed train --set` takes them, with JSON
// values. `grid` crosses axes, each a recipe path with its list of values, with every variant:
// the study above runs 3 variants x 2 batch sizes x 3 seeds = 18 runs, and compares variants
// against the baseline within each grid point. The first metric ranks the variants.
//
// A study is read as strictly as a recipe: an unknown key names its JSON path and the nearest
// valid key, and every error names the study file:
//   study s.json: unknown key "variants.1.sett"; did you mean "set"?

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace heed {

/// A metric a study reports, with its direction.
struct StudyMetric {
  std::string name;       // a key of the runs' eval lines: "accuracy", "wer", "bits_per_token"
  bool higher_is_better;  // mode "max"; "min" is lower-is-better
};

/// One variant: a name and the recipe values it sets on the base ({path: value}).
struct StudyVariant {
  std::string name;
  nlohmann::json set = nlohmann::json::object();
};

/// One point of the grid: its label ("batch_size=32") and the recipe values it sets.
struct GridPoint {
  std::string label;  // "" for a study without a grid
  nlohmann::json set = nlohmann::json::object();
};

/// One run of a study: the variant, the grid point and the seed, and the recipe it trains.
struct StudyRun {
  std::string variant;
  std::string point;  // GridPoint::label
  int64_t seed;
  std::string dir;        // relative to the study's directory: "<variant>[/<point>]/seed-<seed>"
  nlohmann::json recipe;  // the base with the variant's and point's values set, and train.seed
};

struct Study {
  std::string path;  // the study file
  std::string description;
  nlohmann::json base;  // the base recipe, includes resolved
  std::vector<StudyVariant> variants;
  nlohmann::json grid = nlohmann::json::object();  // the grid's axes: {path: [values]}
  std::vector<GridPoint> points;  // one point with an empty label when there is no grid
  std::vector<int64_t> seeds;
  std::vector<StudyMetric> metrics;
  std::string baseline;  // a variant's name; the first variant unless the study names one

  /// Every run, variant by variant, point by point, seed by seed. Throws heed::Error naming the
  /// study file, the variant and the path when a value cannot be set on the base (a path through
  /// a value that is not an object).
  std::vector<StudyRun> runs() const;
};

/// What a study finds in a run's directory: nothing yet (or a run that stopped before its first
/// checkpoint, which starts again), a run to resume, or a run that ended (summary.json's status
/// finished, early_stopped or diverged: a diverged run is a result too).
enum class RunState { New, Started, Ended };
RunState run_state(const std::string& run_dir);

/// "" when the run in `run_dir` trains `recipe` (its recipe.resolved.json equals it, train.threads
/// aside, as the cores of a study are divided anew each time, train.eval_batch_size, which sets
/// only the memory an evaluation takes, and train.attention_statistics, which adds to its lines);
/// else the first difference, as
/// `"model.decoder.attention" is "none" there, "additive" in the study`.
std::string recipe_mismatch(const std::string& run_dir, const nlohmann::json& recipe);

/// Reads a study file. Throws heed::Error naming the file on a missing or malformed file, an
/// unknown or missing key, a variant name that is not a safe directory name or is given twice,
/// a grid axis without values, a seed list that is empty or repeats a seed, a metric mode other
/// than "min" or "max", and a baseline that names no variant.
Study load_study(const std::string& path);

}  // namespace heed
