// Runs stopped and killed at random instants (issue 9): an LSTM, a GRU, a Transformer and a
// CNN with batch norm get 20 SIGINTs and 20 SIGTERMs each, and SIGKILLs, some of them inside
// slowed checkpoint writes; every stopped run must exit with 128 + the signal after writing a
// checkpoint, never crash, and every chain of stops and resumes must end bit for bit where the
// uninterrupted run ends, with the same metrics.jsonl lines, each once. The instants are random
// (a delay drawn up to the uninterrupted run's wall time), so each run of this test tries other
// instants: startup, training steps, evaluations, epoch ends, checkpoint writes.

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "framework/checkpoint.h"
#include "framework/signals.h"
#include "framework/trainer.h"
#include "process.h"
#include "runs.h"
#include "temp_dir.h"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

// One interruption: a signal, and whether checkpoint writes are slowed (so that SIGKILL lands
// inside them more often than not).
struct Stop {
  int signal;
  bool slow_writes;
};

// Runs `model` straight, then in chains of stops and resumes until every stop has reached a
// running process, at an instant drawn up to half the straight run's wall time; each chain must
// end as the straight run.
void run_series(const std::string& model, const std::vector<Stop>& stops, uint32_t seed) {
  TempDir tmp;
  const std::string recipe = tmp.file("recipe.json");
  nlohmann::json r = recipe_for(model);
  // The GRU's run also keeps averaged weights, which evaluations swap in and checkpoints hold.
  if (model == "gru") r["train"]["weight_average"] = {{"decay", 0.9}, {"start_step", 5}};
  std::ofstream(recipe) << r.dump(2);
  const std::string log = tmp.file("stderr.txt");
  const fs::path straight = tmp.fs_path() / "straight";
  const auto t0 = std::chrono::steady_clock::now();
  {
    Child c({"train", recipe, "--out", straight.string()}, log);
    REQUIRE(c.wait().status == 0);
  }
  const double run_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  std::mt19937 random(seed);
  std::uniform_real_distribution<double> instant(0, run_ms / 2);
  size_t next = 0;
  for (int chain = 0; next < stops.size(); ++chain) {
    CAPTURE(model);
    CAPTURE(chain);
    const fs::path dir = tmp.fs_path() / ("chain" + std::to_string(chain));
    while (next < stops.size()) {
      const Stop stop = stops[next];
      CAPTURE(stop.signal);
      const bool begun = fs::exists(dir / "recipe.resolved.json");
      Child c(begun ? std::vector<std::string>{"train", "--resume", dir.string()}
                    : std::vector<std::string>{"train", recipe, "--out", dir.string()},
              log, {std::string("HEED_TEST_SLOW_WRITES_MS=") + (stop.slow_writes ? "40" : "0")});
      if (!c.wait_until_running(dir)) {
        FAIL_CHECK("heed ended before it locked its run directory");
        break;
      }
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(instant(random)));
      c.signal(stop.signal);
      const Ending e = c.wait();
      CHECK_FALSE(e.crashed());
      if (e.status == 0) break;  // it finished before the signal: the next chain begins
      ++next;
      if (stop.signal == SIGKILL) {
        CHECK(e.signal == SIGKILL);
      } else {
        CHECK(e.status == 128 + stop.signal);
        CHECK(fs::exists(dir / "checkpoints" / "last.h5"));
      }
      if (fs::exists(dir / "checkpoints" / "last.h5"))
        CHECK_NOTHROW(load_checkpoint((dir / "checkpoints" / "last.h5").string()));
    }
    if (!fs::exists(dir / "recipe.resolved.json")) continue;
    Child rest({"train", "--resume", dir.string()}, log);
    REQUIRE(rest.wait().status == 0);
    check_same_end(dir, straight);
  }
}

}  // namespace

TEST_CASE(
    "interrupts: 20 SIGINTs, 20 SIGTERMs and 12 SIGKILLs (6 inside slowed checkpoint writes) at "
    "random instants of LSTM, GRU (with averaged weights), Transformer and CNN+BatchNorm runs, "
    "side by side") {
  std::vector<Stop> stops;
  for (int i = 0; i < 20; ++i) stops.insert(stops.end(), {{SIGINT, false}, {SIGTERM, i % 4 == 0}});
  for (int i = 0; i < 6; ++i) stops.insert(stops.end(), {{SIGKILL, false}, {SIGKILL, true}});
  std::mt19937 shuffle(7);
  std::shuffle(stops.begin(), stops.end(), shuffle);
  // Each heed process runs one thread, so four series side by side fit two cores.
  std::vector<std::thread> threads;
  uint32_t seed = 1;
  for (const std::string model : {"lstm", "gru", "transformer", "cnn_bn"})
    threads.emplace_back([&stops, model, s = seed++] { run_series(model, stops, s); });
  for (std::thread& t : threads) t.join();
}

TEST_CASE("interrupts: a stop at an epoch's end draws no second data-order key on resume") {
  TempDir tmp;
  const nlohmann::json recipe = recipe_for("lstm");  // 10 steps an epoch
  const fs::path straight = tmp.fs_path() / "straight", dir = tmp.fs_path() / "run";
  Trainer(recipe, straight.string()).train();
  nlohmann::json first = recipe;
  first["train"]["max_steps"] = 10;
  Trainer(first, dir.string()).train();  // its last checkpoint is the end of epoch 1
  const std::string last = (dir / "checkpoints" / "last.h5").string();
  {
    Trainer stopped(recipe, dir.string());
    stopped.restore(last);
    request_stop(SIGINT);  // before the next epoch's key is drawn
    CHECK(stopped.train()["status"] == "interrupted");
    clear_stop_request();
  }
  Trainer rest(recipe, dir.string());
  rest.restore(last);
  CHECK(rest.train()["status"] == "finished");
  check_same_end(dir, straight);
}
