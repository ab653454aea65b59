// `heed compare` through the command line: a study of small Fashion-MNIST runs trains every
// variant x seed as its own run directory, skips what ended when run again, refuses runs its
// study no longer describes, resumes runs that a signal stopped, and validates every run with
// --dry-run.

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli.h"
#include "framework/files.h"
#include "process.h"
#include "runs.h"
#include "temp_dir.h"

using namespace heed;
using testing::TempDir;

namespace {

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(files::read(path));
}

// A study of a GRU against an LSTM on the small runs of tests/runs.h, `epochs` long.
std::string write_study(const TempDir& dir, int64_t epochs, const nlohmann::json& seeds) {
  nlohmann::json base = testing::recipe_for("gru");
  base["train"]["epochs"] = epochs;
  base["train"].erase("threads");
  const nlohmann::json study = {
      {"base", base},
      {"variants",
       {{{"name", "gru"}}, {{"name", "lstm"}, {"set", {{"model.encoder.type", "lstm"}}}}}},
      {"seeds", seeds},
      {"metrics", {{{"name", "accuracy"}, {"mode", "max"}}}}};
  std::ofstream(dir.file("study.json")) << study.dump(2);
  return dir.file("study.json");
}

}  // namespace

TEST_CASE("heed compare trains every variant x seed, and a second time skips them") {
  TempDir dir;
  const std::string study = write_study(dir, 2, {1, 2});
  const std::string out = dir.file("out");
  const testing::CliResult first =
      testing::run_cli("compare " + study + " --out " + out + " --jobs 2", dir.fs_path());
  INFO(first.err);
  REQUIRE(first.status == 0);
  for (const char* run : {"gru/seed-1", "gru/seed-2", "lstm/seed-1", "lstm/seed-2"}) {
    CAPTURE(run);
    const nlohmann::json summary = read_json(out + "/" + run + "/summary.json");
    CHECK(summary["status"] == "finished");
    const nlohmann::json recipe = read_json(out + "/" + run + "/recipe.resolved.json");
    CHECK(recipe["train"]["seed"] == (std::string(run).back() == '1' ? 1 : 2));
    CHECK(recipe["model"]["encoder"]["type"] == (run[0] == 'g' ? "gru" : "lstm"));
    CHECK(std::filesystem::exists(out + "/" + run + ".log"));
    CHECK(std::filesystem::exists(out + "/" + run + ".recipe.json"));
  }
  CHECK(first.err.find("start lstm/seed-2") != std::string::npos);
  CHECK(first.err.find("[4/4] ended") != std::string::npos);

  const testing::CliResult again =
      testing::run_cli("compare " + study + " --out " + out, dir.fs_path());
  CHECK(again.status == 0);
  CHECK(again.err.find("start ") == std::string::npos);
  CHECK(again.err.find("all 4 runs ended") != std::string::npos);

  // The study changed: the runs it trained no longer match it, and nothing runs.
  nlohmann::json changed = read_json(study);
  changed["variants"][1]["set"]["model.dropout"] = 0.3;
  std::ofstream(study) << changed.dump(2);
  const testing::CliResult stale =
      testing::run_cli("compare " + study + " --out " + out, dir.fs_path());
  CHECK(stale.status == 1);
  CHECK(stale.err.find("changed since these runs began") != std::string::npos);
  CHECK(stale.err.find("lstm/seed-1: \"model.dropout\" is 0.2 there, 0.3 in the study") !=
        std::string::npos);
  CHECK(stale.err.find("gru/seed-1") == std::string::npos);
}

TEST_CASE("heed compare passes a stop on to its runs, and the same command resumes them") {
  TempDir dir;
  const std::string study = write_study(dir, 40, {1});
  const std::string out = dir.file("out");
  {
    testing::Child compare({"compare", study, "--out", out, "--jobs", "2"}, dir.file("log.txt"));
    // Both runs have begun once each has a checkpoint.
    for (int i = 0; i < 60000; ++i) {
      if (std::filesystem::exists(out + "/gru/seed-1/checkpoints/last.h5") &&
          std::filesystem::exists(out + "/lstm/seed-1/checkpoints/last.h5"))
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    compare.signal(SIGTERM);
    CHECK(compare.wait().status == 128 + SIGTERM);
  }
  for (const char* run : {"gru/seed-1", "lstm/seed-1"})
    CHECK(read_json(out + "/" + run + "/summary.json")["status"] == "interrupted");
  const testing::CliResult resumed =
      testing::run_cli("compare " + study + " --out " + out + " --jobs 2", dir.fs_path());
  INFO(resumed.err);
  CHECK(resumed.status == 0);
  CHECK(resumed.err.find("resume gru/seed-1") != std::string::npos);
  CHECK(resumed.err.find("resume lstm/seed-1") != std::string::npos);
  CHECK(read_json(out + "/lstm/seed-1/summary.json")["status"] == "finished");
}

TEST_CASE("heed compare --dry-run builds every run and names the run that does not build") {
  TempDir dir;
  const std::string study = write_study(dir, 1, {1, 2});
  auto [status, out] = testing::run_with_stdout("compare " + study + " --dry-run", dir.fs_path());
  CHECK(status == 0);
  CHECK(out.find("lstm/seed-2: ") != std::string::npos);
  CHECK(out.find("4 runs; --dry-run trains nothing") != std::string::npos);

  nlohmann::json bad = read_json(study);
  bad["variants"][1]["set"]["model.encoder.type"] = "lstmm";
  std::ofstream(study) << bad.dump(2);
  const testing::CliResult refused =
      testing::run_cli("compare " + study + " --dry-run", dir.fs_path());
  CHECK(refused.status == 1);
  CHECK(refused.err.find("study " + study + ": run lstm/seed-1: ") != std::string::npos);
  CHECK(refused.err.find("\"lstm\"") != std::string::npos);  // did you mean
}
