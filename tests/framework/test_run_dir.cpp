// The run directory as a user meets it (issue 9): one writer at a time, a run killed before its
// first checkpoint can be resumed or its directory reused, a full disk fails one clear error
// that leaves every earlier file readable and the run resumable, a second Ctrl-C leaves at once,
// and checkpoints kept by step or by time change nothing in the run.

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli.h"
#include "framework/checkpoint.h"
#include "framework/files.h"
#include "framework/run_dir.h"
#include "process.h"
#include "runs.h"
#include "temp_dir.h"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

std::string write_recipe(const TempDir& tmp, const nlohmann::json& recipe,
                         const std::string& name = "recipe.json") {
  std::ofstream(tmp.file(name)) << recipe.dump(2);
  return tmp.file(name);
}

std::string text_of(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The last line of a command's stderr (the error line, when it failed).
std::string last_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const size_t nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

// The straight run of `recipe` into tmp/straight, the reference the other runs must equal.
fs::path straight_run(const TempDir& tmp, const std::string& recipe) {
  const fs::path dir = tmp.fs_path() / "straight";
  REQUIRE(run_cli("train " + recipe + " --out " + dir.string(), tmp.fs_path()).status == 0);
  return dir;
}

}  // namespace

TEST_CASE("run directory: a second writer is refused, naming the process that holds it") {
  TempDir tmp;
  nlohmann::json r = recipe_for("lstm");
  r["train"]["epochs"] = 200;  // long enough to be running while the others try
  const std::string recipe = write_recipe(tmp, r);
  const fs::path dir = tmp.fs_path() / "run";
  Child first({"train", recipe, "--out", dir.string()}, tmp.file("first.txt"));
  REQUIRE(first.wait_until_running(dir));
  const std::string holder = "in use by process " + std::to_string(first.pid());

  const CliResult again = run_cli("train " + recipe + " --out " + dir.string(), tmp.fs_path());
  CHECK(again.status == 1);
  CHECK(last_line(again.err).find(holder) != std::string::npos);
  const CliResult resume = run_cli("train --resume " + dir.string(), tmp.fs_path());
  CHECK(resume.status == 1);
  CHECK(last_line(resume.err).find(holder) != std::string::npos);

  // Without --out, a second run of the same recipe takes the next free directory.
  nlohmann::json numbered = r;
  numbered["output"]["dir"] = dir.string();
  const std::string other = write_recipe(tmp, numbered, "numbered.json");
  Child second({"train", other, "--set", "train.epochs=1"}, tmp.file("second.txt"));
  CHECK(second.wait().status == 0);
  CHECK(fs::exists(tmp.fs_path() / "run-2" / "summary.json"));

  first.signal(SIGTERM);
  CHECK(first.wait().status == 143);
  CHECK(nlohmann::json::parse(text_of(dir / "summary.json"))["status"] == "interrupted");
}

TEST_CASE("run directory: a run killed before its first checkpoint is resumed from the start") {
  TempDir tmp;
  nlohmann::json r = recipe_for("gru");
  r["train"].erase("checkpoint_every_steps");
  r["data"]["max_train_samples"] = 3200;  // the first checkpoint comes at the end of epoch 1
  const std::string recipe = write_recipe(tmp, r);
  const fs::path straight = straight_run(tmp, recipe);

  const fs::path dir = tmp.fs_path() / "run";
  {
    Child c({"train", recipe, "--out", dir.string()}, tmp.file("killed.txt"));
    REQUIRE(c.wait_until_running(dir));
    while (!fs::exists(dir / "recipe.resolved.json") && !fs::exists(dir / "summary.json"))
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    c.signal(SIGKILL);
    c.wait();
  }
  if (!RunDir::has_checkpoint(dir.string())) {
    const CliResult resumed = run_cli("train --resume " + dir.string(), tmp.fs_path());
    CHECK(resumed.status == 0);
    CHECK(resumed.err.find("starting it from the beginning") != std::string::npos);
    check_same_end(dir, straight);
  } else {
    MESSAGE("the first checkpoint came before the kill; nothing to resume from scratch");
  }

  // A directory whose run was killed before it wrote even its recipe: a new run takes it over.
  const fs::path bare = tmp.fs_path() / "bare";
  fs::create_directories(bare);
  std::ofstream(bare / ".lock") << "process 1 (heed train, since then)\n";
  const CliResult resume = run_cli("train --resume " + bare.string(), tmp.fs_path());
  CHECK(resume.status == 1);
  CHECK(last_line(resume.err).find("--out " + bare.string()) != std::string::npos);
  const CliResult reused = run_cli("train " + recipe + " --out " + bare.string(), tmp.fs_path());
  CHECK(reused.status == 0);
  CHECK(reused.err.find("reused") != std::string::npos);
  check_same_end(bare, straight);

  // One with a checkpoint is not taken over: it is resumed.
  const CliResult taken = run_cli("train " + recipe + " --out " + bare.string(), tmp.fs_path());
  CHECK(taken.status == 1);
  CHECK(last_line(taken.err).find("--resume " + bare.string()) != std::string::npos);
}

TEST_CASE("run directory: a full disk is one clear error, and the run resumes once space returns") {
  TempDir tmp;
  const std::string recipe = write_recipe(tmp, recipe_for("lstm"));
  const fs::path straight = straight_run(tmp, recipe);
  int64_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(straight))
    if (entry.is_regular_file()) total += static_cast<int64_t>(entry.file_size());

  // Disks that fill at ten points of the run: inside the recipe, a metrics line, a checkpoint,
  // the summary.
  for (int i = 0; i < 10; ++i) {
    const int64_t limit = total * i / 10 + 100;
    CAPTURE(limit);
    const fs::path dir = tmp.fs_path() / ("full" + std::to_string(i));
    Child c({"train", recipe, "--out", dir.string()}, tmp.file("full.txt"),
            {"HEED_TEST_WRITE_LIMIT=" + std::to_string(limit)});
    const Ending e = c.wait();
    CHECK_FALSE(e.crashed());
    if (e.status == 0) continue;  // the run fit into the limit
    CHECK(e.status == 1);
    const std::string error = last_line(text_of(tmp.file("full.txt")));
    CHECK(error.rfind("heed: error: cannot ", 0) == 0);
    CHECK(error.find(dir.string()) != std::string::npos);
    CHECK(error.find("No space left on device") != std::string::npos);
    for (const auto& line : logged(dir)) CHECK(line.is_object());  // every line whole
    if (!fs::exists(dir / "recipe.resolved.json")) continue;
    CHECK_NOTHROW(nlohmann::json::parse(text_of(dir / "recipe.resolved.json")));

    // Still full: resuming (also with a changed recipe) fails the same way and changes nothing.
    const std::string recipe_before = text_of(dir / "recipe.resolved.json");
    const bool had_checkpoint = fs::exists(dir / "checkpoints" / "last.h5");
    const std::string ckpt_before = had_checkpoint ? text_of(dir / "checkpoints" / "last.h5") : "";
    for (const std::string set : {"", " --set train.log_interval=4"}) {
      Child full({"train", "--resume", dir.string() + set}, tmp.file("still_full.txt"),
                 {"HEED_TEST_WRITE_LIMIT=0"});
      const Ending again = full.wait();
      CHECK_FALSE(again.crashed());
      CHECK(again.status == 1);
      CHECK(text_of(dir / "recipe.resolved.json") == recipe_before);
      if (had_checkpoint) CHECK(text_of(dir / "checkpoints" / "last.h5") == ckpt_before);
    }
    Child resumed({"train", "--resume", dir.string()}, tmp.file("resumed.txt"));
    CHECK(resumed.wait().status == 0);
    check_same_end(dir, straight);
  }
}

TEST_CASE("run directory: a second SIGINT exits at once, and the run still resumes exactly") {
  TempDir tmp;
  const std::string recipe = write_recipe(tmp, recipe_for("transformer"));
  const fs::path straight = straight_run(tmp, recipe);
  const fs::path dir = tmp.fs_path() / "run";
  {
    Child c({"train", recipe, "--out", dir.string()}, tmp.file("twice.txt"),
            {"HEED_TEST_SLOW_WRITES_MS=50"});
    REQUIRE(c.wait_until_running(dir));
    while (!fs::exists(dir / "checkpoints" / "last.h5"))
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    c.signal(SIGINT);
    c.signal(SIGINT);
    const Ending e = c.wait();
    CHECK(e.status == 130);
  }
  CHECK_NOTHROW(load_checkpoint((dir / "checkpoints" / "last.h5").string()));
  CHECK(run_cli("train --resume " + dir.string(), tmp.fs_path()).status == 0);
  check_same_end(dir, straight);
}

TEST_CASE("run directory: checkpoints by step and by time, kept K at a time, change nothing") {
  TempDir tmp;
  nlohmann::json r = recipe_for("gru");
  const fs::path straight = straight_run(tmp, write_recipe(tmp, r));
  r["train"]["checkpoint_every_seconds"] = 1e-9;  // every step
  r["train"]["keep_checkpoints"] = 3;
  const fs::path dir = tmp.fs_path() / "kept";
  CHECK(run_cli("train " + write_recipe(tmp, r, "kept.json") + " --out " + dir.string(),
                tmp.fs_path())
            .status == 0);
  check_same_end(dir, straight);
  std::vector<std::string> kept;
  for (const auto& entry : fs::directory_iterator(dir / "checkpoints"))
    kept.push_back(entry.path().filename().string());
  std::sort(kept.begin(), kept.end());
  CHECK(kept == std::vector<std::string>{"last.h5", "step_58.h5", "step_59.h5", "step_60.h5"});
  CHECK(text_of(dir / "checkpoints" / "step_60.h5") == text_of(dir / "checkpoints" / "last.h5"));
}

TEST_CASE("run directory: a corrupt last.h5 resumes from the newest kept checkpoint that loads") {
  TempDir tmp;
  nlohmann::json r = recipe_for("lstm");
  const fs::path straight = straight_run(tmp, write_recipe(tmp, r));
  r["train"]["keep_checkpoints"] = 3;
  const std::string recipe = write_recipe(tmp, r, "kept.json");
  const fs::path dir = tmp.fs_path() / "run";
  REQUIRE(run_cli("train " + recipe + " --out " + dir.string() + " --set train.max_steps=30",
                  tmp.fs_path())
              .status == 0);
  // last.h5 and step_30.h5 are one file (a hard link): both are cut short.
  const fs::path last = dir / "checkpoints" / "last.h5";
  fs::resize_file(last, fs::file_size(last) / 2);
  const CliResult resumed =
      run_cli("train --resume " + dir.string() + " --set train.max_steps=0", tmp.fs_path());
  CHECK(resumed.status == 0);
  CHECK(resumed.err.find("resuming from the older " +
                         (dir / "checkpoints" / "step_28.h5").string()) != std::string::npos);
  check_same_end(dir, straight);
}
