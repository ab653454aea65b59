// Data-parallel training (framework/data_parallel.h, docs/distributed.md): micro-batches on one
// process, and, when heed has MPI and `mpirun` exists, 2 ranks on this machine
// (`mpirun --allow-run-as-root --oversubscribe -np 2`): equal to one process bit for bit with
// deterministic_reduction, to rounding without; resumed with another rank count; a killed, a
// stopped or a stuck rank ends the job; ranks given different recipes are refused.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>
#include <tuple>

#include "cli.h"
#include "framework/autograd.h"
#include "framework/communicator.h"
#include "framework/data_parallel.h"
#include "framework/files.h"
#include "framework/ops.h"
#include "framework/trainer.h"
#include "framework/watchdog.h"
#include "gradcheck.h"
#include "runs.h"
#include "temp_dir.h"

using namespace heed;
using namespace heed::testing;

namespace {

// fashion_mnist's LSTM run (tests/runs.h) for `steps` steps, its checkpoints at the end only.
nlohmann::json classifier(int64_t steps) {
  nlohmann::json r = recipe_for("lstm");
  r["train"]["max_steps"] = steps;
  r["train"].erase("checkpoint_every_steps");
  r["train"]["eval_interval"] = 5;
  return r;
}

// A small seq2seq run on CMUdict (a 2-layer LSTM encoder with dropout between its layers, an LSTM
// decoder with additive attention and input feeding).
nlohmann::json seq2seq(int64_t steps) {
  return {{"data", {{"name", "cmudict"}, {"max_train_samples", 640}, {"max_test_samples", 64}}},
          {"model",
           {{"type", "seq2seq"},
            {"encoder",
             {{"type", "lstm"},
              {"embedding_size", 16},
              {"hidden_size", 24},
              {"num_layers", 2},
              {"dropout", 0.3}}},
            {"decoder",
             {{"type", "lstm"},
              {"embedding_size", 16},
              {"attention", "additive"},
              {"input_feeding", true}}}}},
          {"optimizer", {{"name", "adam"}, {"lr", 0.003}}},
          {"train",
           {{"max_steps", steps},
            {"batch_size", 32},
            {"seed", 3},
            {"threads", 1},
            {"log_interval", 5},
            {"eval_interval", 10}}}};
}

// runs.h's tiny language model carrying its state across windows (train: 4 streams, 12 windows
// an epoch), so that `steps` 7 ends mid-epoch with a carried state in the checkpoint.
nlohmann::json language_model(const fs::path& dir, int64_t steps) {
  nlohmann::json r = carry_recipe(write_letters(dir / "letters.txt"), steps);
  r["train"]["threads"] = 1;
  return r;
}

std::string write_recipe(const fs::path& path, const nlohmann::json& recipe) {
  std::ofstream(path) << recipe.dump(2);
  return path.string();
}

void train_here(const nlohmann::json& recipe, const fs::path& dir) {
  Trainer trainer(recipe, dir.string());
  trainer.train();
}

StateDict parameters_of(const fs::path& run) {
  return load_checkpoint((run / "checkpoints" / "last.h5").string(), CheckpointPart::weights).model;
}

// Two runs ended in the same state bit for bit: parameters, optimizer state, random stream and
// position. (A run extended past the end of a finished one keeps that one's closing evaluation in
// metrics.jsonl, so the logs of these resumed runs are not compared.)
void check_same_state(const fs::path& run, const fs::path& reference) {
  const Checkpoint a = load_checkpoint((run / "checkpoints" / "last.h5").string());
  const Checkpoint b = load_checkpoint((reference / "checkpoints" / "last.h5").string());
  CHECK(a.progress.step == b.progress.step);
  CHECK(a.rng == b.rng);
  CHECK(same_tensors(a.model, b.model));
  CHECK(same_tensors(a.optimizer, b.optimizer));
  REQUIRE(a.carried_state.has_value() == b.carried_state.has_value());
  if (a.carried_state) CHECK(same_tensors(*a.carried_state, *b.carried_state));
}

// The largest |a - b| over every float tensor of two runs' models (parameters and running
// statistics); their integer buffers must be equal.
double largest_difference(const fs::path& a, const fs::path& b) {
  const StateDict x = parameters_of(a), y = parameters_of(b);
  REQUIRE(x.size() == y.size());
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i].second.dtype() != Dtype::Float32) {  // a batch norm's num_batches_tracked
      CHECK(x[i].second.to_vector_i64() == y[i].second.to_vector_i64());
      continue;
    }
    const std::vector<float> u = x[i].second.to_vector(), v = y[i].second.to_vector();
    for (size_t j = 0; j < u.size(); ++j) worst = std::max(worst, std::fabs(double(u[j]) - v[j]));
  }
  return worst;
}

// The MPI launcher's command with the options a test on one machine needs (root in a container,
// more ranks than cores allowed, no single-copy mechanism that a container's ptrace rules deny),
// or "" when heed has no MPI, or no mpirun is installed that can start 2 processes here.
std::string mpirun() {
  static const std::string command = [] {
    // Open MPI leaves its allocations to the end of the process: LeakSanitizer (the asan
    // preset) would fail every rank over them.
    const std::string launch =
        "ASAN_OPTIONS=detect_leaks=0 OMPI_MCA_btl_vader_single_copy_mechanism=none mpirun "
        "--allow-run-as-root --oversubscribe ";
    if (!Communicator::available() || std::system("command -v mpirun > /dev/null 2>&1") != 0 ||
        std::system((launch + "-np 2 true > /dev/null 2>&1").c_str()) != 0)
      return std::string();
    return launch;
  }();
  return command;
}

// `mpirun <launch> heed <args>`: its exit status; stdout and stderr in `dir`.
CliResult run_mpi(const std::string& launch, const std::string& args, const fs::path& dir) {
  const fs::path err = dir / "mpi_stderr.txt";
  const std::string cmd = mpirun() + launch + " " + HEED_BINARY + " " + args + " > " +
                          (dir / "mpi_stdout.txt").string() + " 2> " + err.string();
  const int raw = std::system(cmd.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, files::read(err.string())};
}

}  // namespace

TEST_CASE("GradReadyHook: each leaf once, when its gradient is final") {
  Tensor w = Tensor::from_vector({1, 2, 3}, {3}).requires_grad_();
  Tensor b = Tensor::from_vector({0.5f}, {1}).requires_grad_();
  Tensor x = Tensor::from_vector({4, 5, 6}, {3});
  // w feeds three nodes, b one: w's gradient is final only after the last of them.
  const Tensor loss = ops::sum(w * x) + ops::sum(w * w) + ops::sum(ops::tanh(w) * b);
  std::vector<std::pair<const TensorImpl*, std::vector<float>>> heard;
  {
    GradReadyHook hook([&](const Tensor& leaf) {
      heard.push_back({leaf.impl_ptr().get(), leaf.grad().to_vector()});
    });
    loss.backward();
  }
  REQUIRE(heard.size() == 2);
  for (const auto& [leaf, grad] : heard)
    CHECK(grad == (leaf == w.impl_ptr().get() ? w.grad() : b.grad()).to_vector());
  CHECK(heard[0].first != heard[1].first);
  // Without a hook, the same gradients.
  Tensor w2 = Tensor::from_vector({1, 2, 3}, {3}).requires_grad_();
  Tensor b2 = Tensor::from_vector({0.5f}, {1}).requires_grad_();
  (ops::sum(w2 * x) + ops::sum(w2 * w2) + ops::sum(ops::tanh(w2) * b2)).backward();
  CHECK(w2.grad().to_vector() == w.grad().to_vector());
  CHECK(b2.grad().to_vector() == b.grad().to_vector());
}

TEST_CASE("data parallel: a batch's parts, the first n % K one larger, cover it in order") {
  CHECK(DataParallel::part(10, 3, 0) == std::pair<int64_t, int64_t>{0, 4});
  CHECK(DataParallel::part(10, 3, 1) == std::pair<int64_t, int64_t>{4, 7});
  CHECK(DataParallel::part(10, 3, 2) == std::pair<int64_t, int64_t>{7, 10});
  // A last batch smaller than K: the first parts hold one example each, the rest none.
  CHECK(DataParallel::part(2, 4, 1) == std::pair<int64_t, int64_t>{1, 2});
  CHECK(DataParallel::part(2, 4, 3) == std::pair<int64_t, int64_t>{2, 2});
}

TEST_CASE("micro_batches: K parts give the gradient of the whole batch (SGD, no dropout)") {
  TempDir tmp;
  nlohmann::json r = classifier(12);
  r["model"]["dropout"] = 0.0;
  r["optimizer"] = {{"name", "sgd"}, {"lr", 0.1}};
  train_here(r, tmp.fs_path() / "one");
  for (const int64_t k : {2, 3, 7}) {
    CAPTURE(k);
    r["train"]["micro_batches"] = k;  // 32 = 5 x 5 + 7 x 4: parts of unequal size
    const fs::path parts = tmp.fs_path() / fs::path("k").concat(std::to_string(k));
    train_here(r, parts);
    CHECK(largest_difference(tmp.fs_path() / "one", parts) < 2e-5);
    const auto a = logged(tmp.fs_path() / "one"), b = logged(parts);
    REQUIRE(a.size() == b.size());
    CHECK(b.front()["loss"].get<double>() ==
          doctest::Approx(a.front()["loss"].get<double>()).epsilon(1e-5));
  }
}

TEST_CASE("micro_batches: a language model carrying its state gives each part its streams' rows") {
  TempDir tmp;
  nlohmann::json r = language_model(tmp.fs_path(), 7);  // mid-epoch: a state is carried
  r["model"]["dropout"] = 0.0;
  r["optimizer"] = {{"name", "sgd"}, {"lr", 0.5}};
  train_here(r, tmp.fs_path() / "one");
  const Checkpoint one =
      load_checkpoint((tmp.fs_path() / "one" / "checkpoints" / "last.h5").string());
  REQUIRE(one.carried_state);
  REQUIRE(!one.carried_state->empty());
  for (const int64_t k : {2, 4}) {  // parts of 2 streams, and of 1
    CAPTURE(k);
    r["train"]["micro_batches"] = k;
    const fs::path parts = tmp.fs_path() / fs::path("k").concat(std::to_string(k));
    train_here(r, parts);
    CHECK(largest_difference(tmp.fs_path() / "one", parts) < 2e-5);
    const Checkpoint c = load_checkpoint((parts / "checkpoints" / "last.h5").string());
    REQUIRE(c.carried_state);
    REQUIRE(c.carried_state->size() == one.carried_state->size());
    for (size_t t = 0; t < c.carried_state->size(); ++t) {
      const Tensor& got = c.carried_state->at(t).second;
      CHECK(got.shape() == one.carried_state->at(t).second.shape());  // [2, 4, 10]: every row
      check_close(got.to_vector(), one.carried_state->at(t).second.to_vector(), 2e-5f, 0,
                  c.carried_state->at(t).first);
    }
  }
}

TEST_CASE(
    "micro_batches: a run with dropout stopped and resumed ends bit for bit as one that was not") {
  TempDir tmp;
  nlohmann::json r = classifier(20);
  r["train"]["micro_batches"] = 3;
  train_here(r, tmp.fs_path() / "straight");
  nlohmann::json half = r;
  half["train"]["max_steps"] = 9;
  train_here(half, tmp.fs_path() / "resumed");
  Trainer resumed(r, (tmp.fs_path() / "resumed").string());
  resumed.restore((tmp.fs_path() / "resumed" / "checkpoints" / "last.h5").string());
  resumed.train();
  check_same_state(tmp.fs_path() / "resumed", tmp.fs_path() / "straight");
}

TEST_CASE("micro_batches: recipe errors") {
  TempDir tmp;
  nlohmann::json r = classifier(2);
  r["train"]["micro_batches"] = 33;
  CHECK_THROWS_WITH(Trainer(r, tmp.fs_path().string()),
                    doctest::Contains("\"train.micro_batches\" is 33, more than train.batch_size"));
  r["train"]["micro_batches"] = -1;
  CHECK_THROWS_WITH(Trainer(r, tmp.fs_path().string()), doctest::Contains("train.micro_batches"));
}

TEST_CASE(
    "mpirun -np 2: deterministic reduction equals one process of 2 micro-batches bit for bit") {
  if (mpirun().empty()) {
    MESSAGE("skipped: heed has no MPI or mpirun is missing (tools/bootstrap.sh installs both)");
    return;
  }
  TempDir tmp;
  for (const auto& [name, recipe] :
       {std::pair{"classifier", classifier(20)}, std::pair{"seq2seq", seq2seq(20)},
        std::pair{"language_model", language_model(tmp.fs_path(), 7)}}) {
    CAPTURE(name);
    nlohmann::json r = recipe;
    r["train"]["deterministic_reduction"] = true;
    // Dev and test in several batches, which the ranks share (and, for seq2seq, decode, with
    // attention statistics): metrics.jsonl's evaluation lines must come out the same too. The
    // language model carries its state across the streams' windows, each rank its rows, and
    // stops mid-epoch: the checkpoint's carried state is compared too.
    if (r["model"]["type"] != "language_model") r["train"]["eval_batch_size"] = 16;
    const std::string file = write_recipe(tmp.fs_path() / (std::string(name) + ".json"), r);
    const fs::path ranks = tmp.fs_path() / (std::string(name) + "_ranks");
    const CliResult run =
        run_mpi("-np 2", "train " + file + " --out " + ranks.string(), tmp.fs_path());
    INFO(run.err);
    REQUIRE(run.status == 0);
    r["train"]["micro_batches"] = 2;
    train_here(r, tmp.fs_path() / (std::string(name) + "_one"));
    check_same_end(ranks, tmp.fs_path() / (std::string(name) + "_one"));
  }
}

TEST_CASE("mpirun -np 2: MPI_Allreduce's sums equal one process's to rounding") {
  if (mpirun().empty()) return;
  TempDir tmp;
  nlohmann::json r = classifier(12);
  r["model"]["dropout"] = 0.0;
  r["optimizer"] = {{"name", "sgd"}, {"lr", 0.1}};
  const std::string file = write_recipe(tmp.fs_path() / "r.json", r);
  const CliResult run = run_mpi(
      "-np 2", "train " + file + " --out " + (tmp.fs_path() / "ranks").string(), tmp.fs_path());
  INFO(run.err);
  REQUIRE(run.status == 0);
  train_here(r, tmp.fs_path() / "one");
  CHECK(largest_difference(tmp.fs_path() / "ranks", tmp.fs_path() / "one") < 2e-5);
}

TEST_CASE("mpirun -np 2: synchronized batch norm trains as one process on the global batch") {
  if (mpirun().empty()) return;
  TempDir tmp;
  nlohmann::json r = recipe_for("cnn_bn");  // BatchNorm2d after a convolution; no dropout here
  r["model"]["layers"].erase(r["model"]["layers"].size() - 1);
  r["optimizer"] = {{"name", "sgd"}, {"lr", 0.1}};
  // Few steps: at this learning rate a difference in rounding grows about fivefold every 3 steps
  // (1e-6 after one, 3e-5 after 6, 1e-3 after 12), so later steps would hide what is measured.
  r["train"]["max_steps"] = 3;
  r["train"].erase("checkpoint_every_steps");
  train_here(r, tmp.fs_path() / "one");
  double difference[2];
  for (const bool sync : {true, false}) {
    r["train"]["sync_batch_norm"] = sync;
    const std::string name = sync ? "sync" : "per_rank";
    const std::string file = write_recipe(tmp.fs_path() / (name + ".json"), r);
    const CliResult run = run_mpi(
        "-np 2", "train " + file + " --out " + (tmp.fs_path() / name).string(), tmp.fs_path());
    INFO(run.err);
    REQUIRE(run.status == 0);
    // Parameters and running statistics (the variance unbiased over the global batch).
    difference[sync ? 0 : 1] = largest_difference(tmp.fs_path() / name, tmp.fs_path() / "one");
  }
  MESSAGE("largest difference from one process: synchronized " << difference[0] << ", per rank "
                                                               << difference[1]);
  CHECK(difference[0] < 2e-5);
  CHECK(difference[1] > 100 * difference[0]);  // each rank's own statistics are another model
}

TEST_CASE("micro_batches: synchronized batch norm needs one part per rank") {
  TempDir tmp;
  nlohmann::json r = recipe_for("cnn_bn");
  r["train"]["sync_batch_norm"] = true;
  r["train"]["micro_batches"] = 2;
  CHECK_THROWS_WITH(Trainer(r, tmp.fs_path().string()),
                    doctest::Contains("\"train.sync_batch_norm\" is true with 2 micro-batches "
                                      "on 1 rank(s)"));
}

TEST_CASE("mpirun: a 2-rank checkpoint resumes on 1 rank, and a 1-rank one on 2, bit for bit") {
  if (mpirun().empty()) return;
  TempDir tmp;
  // The language model stops mid-epoch, so its checkpoint carries every stream's state.
  for (auto [name, r, half] :
       {std::tuple{"classifier", classifier(20), 9},
        std::tuple{"language_model", language_model(tmp.fs_path(), 20), 7}}) {
    CAPTURE(name);
    const fs::path dir = tmp.fs_path() / name;
    fs::create_directories(dir);
    const int64_t total = r["train"]["max_steps"].get<int64_t>();
    r["train"]["deterministic_reduction"] = true;
    r["train"]["micro_batches"] = 2;
    train_here(r, dir / "straight");
    r["train"]["max_steps"] = half;
    const std::string first = write_recipe(dir / "half.json", r);
    const std::string rest = " --set train.max_steps=" + std::to_string(total);
    // 2 ranks, then 1.
    const fs::path a = dir / "two_then_one";
    REQUIRE(run_mpi("-np 2", "train " + first + " --out " + a.string(), dir).status == 0);
    REQUIRE(run_cli("train --resume " + a.string() + rest, dir).status == 0);
    check_same_state(a, dir / "straight");
    // 1 rank, then 2.
    const fs::path b = dir / "one_then_two";
    REQUIRE(run_cli("train " + first + " --out " + b.string(), dir).status == 0);
    const CliResult resumed = run_mpi("-np 2", "train --resume " + b.string() + rest, dir);
    INFO(resumed.err);
    REQUIRE(resumed.status == 0);
    check_same_state(b, dir / "straight");
  }
}

TEST_CASE("mpirun: ranks given different recipes are refused at the start, naming the rank") {
  if (mpirun().empty()) return;
  TempDir tmp;
  nlohmann::json r = classifier(4);
  const std::string a = write_recipe(tmp.fs_path() / "a.json", r);
  r["optimizer"]["lr"] = 0.004;
  const std::string b = write_recipe(tmp.fs_path() / "b.json", r);
  const std::string heed = HEED_BINARY;
  const CliResult run = run_mpi(
      "-np 1 " + heed + " train " + a + " --out " + (tmp.fs_path() / "run").string() + " : -np 1",
      "train " + b + " --out " + (tmp.fs_path() / "run").string(), tmp.fs_path());
  CHECK(run.status != 0);
  CHECK(run.err.find("the recipe differs between the ranks: rank 1") != std::string::npos);
}

// Rank 1 of a 2-rank training that would run for minutes: the heed process of this run (its
// command line names the run directory: other tests may run jobs beside this one) whose
// environment says OMPI_COMM_WORLD_RANK=1; 0 if none appears within a minute.
pid_t find_rank1(const fs::path& run) {
  for (int tries = 0; tries < 600; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!fs::exists(run / "metrics.jsonl")) continue;
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string pid = entry.path().filename().string();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream env_file(entry.path() / "environ");
      const std::string env((std::istreambuf_iterator<char>(env_file)), {});
      std::ifstream comm(entry.path() / "comm");
      std::string name;
      comm >> name;
      std::ifstream cmdline_file(entry.path() / "cmdline");
      const std::string cmdline((std::istreambuf_iterator<char>(cmdline_file)), {});
      if (name == "heed" && cmdline.find(run.string()) != std::string::npos &&
          env.find(std::string("OMPI_COMM_WORLD_RANK=1") + '\0') != std::string::npos)
        return static_cast<pid_t>(std::stol(pid));
    }
  }
  return 0;
}

// A 2-rank training with `env` (VAR=value ..., passed to the ranks) that rank 1 spoils once the
// run has begun, by `signal` (0: none, the environment does it): the job's stderr once it ended,
// which the test requires to happen within a minute, and its exit status (nonzero expected).
CliResult spoiled_run(const std::string& env, int signal, const std::string& what) {
  TempDir tmp;
  nlohmann::json r = classifier(100000);
  r["data"]["max_train_samples"] = 3200;
  const std::string file = write_recipe(tmp.fs_path() / "long.json", r);
  const fs::path run = tmp.fs_path() / "run";
  std::string exported;
  for (size_t at = 0; at < env.size();) {
    const size_t eq = env.find('=', at), space = std::min(env.find(' ', at), env.size());
    exported += " -x " + env.substr(at, eq - at);
    at = space + 1;
  }
  const std::string cmd = env + " " + mpirun() + exported + " -np 2 " + HEED_BINARY + " train " +
                          file + " --out " + run.string() + " > /dev/null 2> " +
                          (tmp.fs_path() / "err.txt").string() + "; echo $? > " +
                          (tmp.fs_path() / "status.txt").string();
  const pid_t shell = fork();
  REQUIRE(shell >= 0);
  if (shell == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_t rank1 = 0;
  if (signal != 0) {
    rank1 = find_rank1(run);
    REQUIRE(rank1 != 0);
    ::kill(rank1, signal);
  }
  const auto spoiled = std::chrono::steady_clock::now();
  // A generous bound that only catches a hang; the time taken is printed.
  int status = 0;
  bool ended = false;
  for (int tries = 0; tries < 600 && !ended; ++tries) {
    ended = waitpid(shell, &status, WNOHANG) == shell;
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!ended) ::kill(shell, SIGKILL), waitpid(shell, &status, 0);
  if (rank1 != 0) ::kill(rank1, SIGKILL);  // a stopped rank the launcher left would stay
  REQUIRE(ended);
  MESSAGE("the job ended "
          << std::chrono::duration<double>(std::chrono::steady_clock::now() - spoiled).count()
          << " s after rank 1 " << what);
  const std::string code = files::read((tmp.fs_path() / "status.txt").string());
  return {std::stoi(code), files::read((tmp.fs_path() / "err.txt").string())};
}

TEST_CASE("watchdog: silence, then a stall, names the hung ranks; done ranks are not watched") {
  const WatchdogTimeouts t{10, 300};
  CHECK(hung_ranks({{0, -1, false}, {9.9, -1, false}}, t).empty());
  CHECK(hung_ranks({{0, -1, false}, {12.5, -1, false}}, t) ==
        "rank 1 stopped answering: no heartbeat for 12.5 s (HEED_HEARTBEAT_TIMEOUT: 10 s): a "
        "stopped or frozen process, or a machine or network lost");
  CHECK(hung_ranks({{0, -1, false}, {60, -1, true}}, t).empty());  // it said goodbye
  // A step's wait shorter than the stall timeout: the others are only slower.
  CHECK(hung_ranks({{0, 299, false}, {1, -1, false}, {1, 10, false}}, t).empty());
  CHECK(hung_ranks({{0, 301, false}, {1, -1, false}, {1, -1, false}}, t) ==
        "ranks 1, 2 did not reach the training step's collectives that another rank has waited "
        "at for 301 s (HEED_STALL_TIMEOUT: 300 s): a rank stuck in its computation");
  CHECK(hung_ranks({{0, 301, false}, {1, 302, false}}, t).find("a deadlock") != std::string::npos);
  // Silence is named first: a silent rank is also one that did not arrive.
  CHECK(hung_ranks({{0, 400, false}, {11, -1, false}}, t).find("rank 1 stopped answering") == 0);
  CHECK(StepWait::seconds() < 0);
  {
    const StepWait waiting;
    CHECK(StepWait::seconds() >= 0);
  }
  CHECK(StepWait::seconds() < 0);
}

TEST_CASE("watchdog: its timeouts from the environment, and a clear error for a bad one") {
  ::setenv("HEED_HEARTBEAT_TIMEOUT", "2.5", 1);
  ::unsetenv("HEED_STALL_TIMEOUT");
  CHECK(WatchdogTimeouts::from_environment().heartbeat_s == 2.5);
  CHECK(WatchdogTimeouts::from_environment().stall_s == 300);
  ::setenv("HEED_STALL_TIMEOUT", "soon", 1);
  CHECK_THROWS_WITH(WatchdogTimeouts::from_environment(),
                    "HEED_STALL_TIMEOUT is \"soon\": give a positive number of seconds");
  ::setenv("HEED_STALL_TIMEOUT", "-1", 1);
  CHECK_THROWS(WatchdogTimeouts::from_environment());
  ::unsetenv("HEED_HEARTBEAT_TIMEOUT");
  ::unsetenv("HEED_STALL_TIMEOUT");
}

TEST_CASE("mpirun: a rank killed mid-run ends the whole job with a message naming it") {
  if (mpirun().empty()) return;
  const CliResult run = spoiled_run("", SIGKILL, "was killed");
  CHECK(run.status != 0);
  CHECK(run.err.find("rank 1") != std::string::npos);
}

TEST_CASE("mpirun: a rank that stops answering (SIGSTOP) ends the job, named by the watchdog") {
  if (mpirun().empty()) return;
  const CliResult run = spoiled_run("HEED_HEARTBEAT_TIMEOUT=2", SIGSTOP, "was stopped");
  CHECK(run.status != 0);
  INFO(run.err);
  CHECK(run.err.find("heed: error: rank 0: rank 1 stopped answering: no heartbeat for ") !=
        std::string::npos);
}

TEST_CASE("mpirun: a rank stuck in its computation ends the job, named by the stall check") {
  if (mpirun().empty()) return;
  // HEED_TEST_STALL=1:3 makes rank 1 sleep forever before step 3's parts, beating all along.
  const CliResult run =
      spoiled_run("HEED_TEST_STALL=1:3 HEED_STALL_TIMEOUT=2", 0, "got stuck (at step 3)");
  CHECK(run.status != 0);
  INFO(run.err);
  CHECK(run.err.find("heed: error: rank 0: rank 1 did not reach the training step's "
                     "collectives") != std::string::npos);
}

TEST_CASE("mpirun -np 2 heed compare: whole runs on the ranks end as the same study run locally") {
  if (mpirun().empty()) return;
  TempDir tmp;
  nlohmann::json base = recipe_for("gru");
  base["train"]["epochs"] = 2;
  base["train"].erase("threads");
  const nlohmann::json study = {
      {"base", base},
      {"variants",
       {{{"name", "gru"}}, {{"name", "lstm"}, {"set", {{"model.encoder.type", "lstm"}}}}}},
      {"seeds", {1, 2}},
      {"metrics", {{{"name", "accuracy"}, {"mode", "max"}}}}};
  const std::string file = write_recipe(tmp.fs_path() / "study.json", study);
  const fs::path ranks = tmp.fs_path() / "ranks", local = tmp.fs_path() / "local";
  const CliResult spread =
      run_mpi("-np 2", "compare " + file + " --out " + ranks.string(), tmp.fs_path());
  INFO(spread.err);
  REQUIRE(spread.status == 0);
  REQUIRE(
      run_cli("compare " + file + " --out " + local.string() + " --jobs 2", tmp.fs_path()).status ==
      0);
  for (const char* run : {"gru/seed-1", "gru/seed-2", "lstm/seed-1", "lstm/seed-2"}) {
    CAPTURE(run);
    check_same_end(ranks / run, local / run);
  }
  CHECK(fs::exists(ranks / "report.json"));
  // Run again, nothing is left to train on either rank.
  const CliResult again =
      run_mpi("-np 2", "compare " + file + " --out " + ranks.string(), tmp.fs_path());
  CHECK(again.status == 0);
}
