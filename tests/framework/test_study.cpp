// Study files (framework/study.h): what they expand to, and that every malformed study is refused
// with a message naming the study file and the key.

#include "framework/study.h"

#include <doctest/doctest.h>

#include <fstream>

#include "framework/error.h"
#include "temp_dir.h"

using namespace heed;
using heed::testing::TempDir;

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A study file in `dir` whose base is base.json there (a recipe with a decoder and a train
// section), with `body` as the rest of its top-level object.
std::string study(const TempDir& dir, const std::string& body) {
  write(dir.file("base.json"),
        R"({"description": "base", "model": {"decoder": {"attention": "additive"}},
            "train": {"epochs": 2, "seed": 7}})");
  write(dir.file("s.json"), "{\"base\": \"base.json\", " + body + "}");
  return dir.file("s.json");
}

const char* kMetrics = R"("metrics": [{"name": "wer", "mode": "min"}])";

// The message of the error load_study(path) throws ("" when it throws none).
std::string load_error(const std::string& path) {
  try {
    load_study(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a study crosses variants, grid points and seeds, in that order") {
  TempDir dir;
  const Study s = load_study(study(dir, std::string(R"(
    "variants": [{"name": "none", "set": {"model.decoder.attention": "none"}},
                 {"name": "additive"}],
    "grid": {"train.batch_size": [32, 64]},
    "seeds": [1, 2], )") + kMetrics));
  CHECK(s.baseline == "none");  // the first variant unless named
  CHECK(s.metrics.size() == 1);
  CHECK_FALSE(s.metrics[0].higher_is_better);
  const std::vector<StudyRun> runs = s.runs();
  REQUIRE(runs.size() == 8);
  CHECK(runs[0].dir == "none/batch_size=32/seed-1");
  CHECK(runs[1].dir == "none/batch_size=32/seed-2");
  CHECK(runs[2].dir == "none/batch_size=64/seed-1");
  CHECK(runs[7].dir == "additive/batch_size=64/seed-2");
  CHECK(runs[0].recipe["model"]["decoder"]["attention"] == "none");
  CHECK(runs[7].recipe["model"]["decoder"]["attention"] == "additive");  // the base's
  CHECK(runs[2].recipe["train"]["batch_size"] == 64);
  CHECK(runs[1].recipe["train"]["seed"] == 2);  // the study's seed replaces the base's
  CHECK(runs[1].recipe["train"]["epochs"] == 2);
  CHECK(runs[1].point == "batch_size=32");
  CHECK(runs[1].variant == "none");
}

TEST_CASE("a study without a grid has one unlabelled point; its base can be an inline recipe") {
  TempDir dir;
  write(dir.file("common.json"), R"({"train": {"epochs": 3}})");
  write(dir.file("s.json"), std::string(R"({
    "base": {"include": "common.json", "train": {"batch_size": 16}},
    "variants": [{"name": "a"}, {"name": "b", "set": {"train.epochs": 5}}],
    "baseline": "b", "seeds": [3], )") +
                                R"("metrics": [{"name": "accuracy", "mode": "max"}]})");
  const Study s = load_study(dir.file("s.json"));
  CHECK(s.baseline == "b");
  CHECK(s.metrics[0].higher_is_better);
  const std::vector<StudyRun> runs = s.runs();
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].dir == "a/seed-3");
  CHECK(runs[0].recipe["train"]["epochs"] == 3);  // from the include, relative to the study
  CHECK(runs[1].recipe["train"]["epochs"] == 5);
  CHECK(runs[1].recipe["train"]["batch_size"] == 16);
}

TEST_CASE("grid axes that end in the same key are labelled by their whole paths") {
  TempDir dir;
  const Study s = load_study(study(dir, std::string(R"(
    "variants": [{"name": "a"}],
    "grid": {"model.encoder.hidden_size": [8], "model.decoder.hidden_size": [4, 8]}, )") +
                                            kMetrics));
  REQUIRE(s.points.size() == 2);
  // The axes cross in the order of their paths (decoder before encoder), the last fastest.
  CHECK(s.points[0].label == "model.decoder.hidden_size=4,model.encoder.hidden_size=8");
  CHECK(s.points[1].label == "model.decoder.hidden_size=8,model.encoder.hidden_size=8");
}

TEST_CASE("a malformed study is refused with the study file and the key named") {
  TempDir dir;
  const std::string variants = R"("variants": [{"name": "a"}, {"name": "b"}], )";
  struct Case {
    std::string body, expected;
  };
  const std::vector<Case> cases = {
      {variants + kMetrics + R"(, "sedes": [1])", "unknown key \"sedes\"; did you mean \"seeds\"?"},
      {std::string(R"("variants": [{"nmae": "a"}], )") + kMetrics,
       "unknown key \"variants.0.nmae\"; did you mean \"name\"?"},
      {std::string(R"("variants": [], )") + kMetrics, "\"variants\" must list at least one"},
      {std::string(R"("variants": [{"name": "a/b"}], )") + kMetrics,
       "\"variants.0.name\" must be letters, digits"},
      {std::string(R"("variants": [{"name": "a"}, {"name": "a"}], )") + kMetrics,
       "\"variants.1.name\" \"a\" is the name of an earlier variant"},
      {std::string(R"("variants": [{"name": "a", "set": [1]}], )") + kMetrics,
       "\"variants.0.set\" must be an object"},
      {variants + kMetrics + R"(, "seeds": [1, 2, 1])", "\"seeds.2\" repeats seed 1"},
      {variants + kMetrics + R"(, "seeds": [])", "seeds"},
      {variants + R"("metrics": [{"name": "wer", "mode": "lowest"}])", "metrics.0.mode"},
      {variants + R"("metrics": [])", "\"metrics\" must list at least one metric"},
      {variants + kMetrics + R"(, "baseline": "c")", "unknown variant \"c\" at \"baseline\""},
      {variants + kMetrics + R"(, "grid": {"train.epochs": []})",
       "\"grid.train.epochs\" must be a non-empty list"},
      {variants + kMetrics + R"(, "grid": {"train.epochs": [1, 1]})",
       "gives the point \"epochs=1\" twice"},
      {variants + kMetrics + R"(, "grid": {"data.name": ["a/b"]})", "cannot name a directory"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.body);
    const std::string what = load_error(study(dir, c.body));
    CHECK(what.rfind("study " + dir.file("s.json") + ": ", 0) == 0);
    CHECK(what.find(c.expected) != std::string::npos);
    CHECK(what.find("recipe:") == std::string::npos);
  }
}

TEST_CASE("a study's file and base are checked: missing, malformed, duplicate keys") {
  TempDir dir;
  CHECK(load_error(dir.file("missing.json")).find(dir.file("missing.json")) != std::string::npos);
  write(dir.file("dup.json"), "{\"seeds\": [1],\n \"seeds\": [2]}");
  const std::string dup = load_error(dir.file("dup.json"));
  CHECK(dup.rfind("study " + dir.file("dup.json") + ":2: duplicate key \"seeds\"", 0) == 0);
  write(dir.file("list.json"), "[1]");
  CHECK(load_error(dir.file("list.json")).find("the top level must be a JSON object") !=
        std::string::npos);
  write(dir.file("nobase.json"), R"({"variants": [{"name": "a"}]})");
  CHECK(load_error(dir.file("nobase.json")).find("\"base\" is required") != std::string::npos);
  write(dir.file("badbase.json"), R"({"base": "nowhere.json", "variants": [{"name": "a"}]})");
  const std::string badbase = load_error(dir.file("badbase.json"));
  CHECK(badbase.rfind("study " + dir.file("badbase.json") + ": recipe ", 0) == 0);
  CHECK(badbase.find("nowhere.json") != std::string::npos);
}

TEST_CASE("a variant's value that cannot be set on the base names the variant and the path") {
  TempDir dir;
  const Study s = load_study(study(dir, std::string(R"(
    "variants": [{"name": "deep", "set": {"model.decoder.attention.type": "luong_dot"}}], )") +
                                            kMetrics));
  try {
    s.runs();
    FAIL("runs() accepted a path through a string");
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK(what.find("variant \"deep\"") != std::string::npos);
    CHECK(what.find("\"model.decoder.attention\" is not an object") != std::string::npos);
  }
}

TEST_CASE("a study reads a run's state from its directory") {
  TempDir dir;
  CHECK(run_state(dir.file("absent")) == RunState::New);
  std::filesystem::create_directories(dir.file("run/checkpoints"));
  CHECK(run_state(dir.file("run")) == RunState::New);  // stopped before its first checkpoint
  write(dir.file("run/checkpoints/last.h5"), "");
  CHECK(run_state(dir.file("run")) == RunState::Started);
  write(dir.file("run/summary.json"), R"({"status": "interrupted"})");
  CHECK(run_state(dir.file("run")) == RunState::Started);
  for (const char* status : {"finished", "early_stopped", "diverged"}) {
    write(dir.file("run/summary.json"), std::string(R"({"status": ")") + status + "\"}");
    CHECK(run_state(dir.file("run")) == RunState::Ended);
  }
  write(dir.file("run/summary.json"), "{\"status\": ");
  const std::string corrupt = dir.file("run/summary.json") + ": corrupt JSON";
  CHECK_THROWS_WITH(run_state(dir.file("run")), doctest::Contains(corrupt.c_str()));
}

TEST_CASE("a study names the first difference between a run's recipe and its own") {
  TempDir dir;
  const nlohmann::json recipe = {{"model", {{"decoder", {{"attention", "none"}}}}},
                                 {"train", {{"seed", 1}, {"threads", 2}}},
                                 {"schedule", {{{"name", "warmup"}}}}};
  std::filesystem::create_directories(dir.file("run"));
  write(dir.file("run/recipe.resolved.json"), recipe.dump());
  CHECK(recipe_mismatch(dir.file("run"), recipe) == "");
  nlohmann::json other = recipe;
  other["train"]["threads"] = 1;  // the cores are divided anew each time
  CHECK(recipe_mismatch(dir.file("run"), other) == "");
  other["model"]["decoder"]["attention"] = "additive";
  CHECK(recipe_mismatch(dir.file("run"), other) ==
        "\"model.decoder.attention\" is \"none\" there, \"additive\" in the study");
  other = recipe;
  other["train"]["epochs"] = 3;
  CHECK(recipe_mismatch(dir.file("run"), other) ==
        "\"train.epochs\" is absent there, 3 in the study");
  other = recipe;
  other["schedule"].push_back({{"name", "cosine"}});
  CHECK(recipe_mismatch(dir.file("run"), other).rfind("\"schedule\" is ", 0) == 0);
}
