#include "framework/cli/compare.h"

#include <fcntl.h>
#include <omp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "framework/communicator.h"
#include "framework/error.h"
#include "framework/files.h"
#include "framework/run_dir.h"
#include "framework/signals.h"
#include "framework/study.h"
#include "framework/study_report.h"
#include "framework/trainer.h"

extern char** environ;

namespace heed::cli {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// One run of the study as this command sees it.
struct Job {
  StudyRun run;
  fs::path dir;  // the run directory
  RunState state = RunState::New;
};

// A `heed train` process of a job.
struct Child {
  pid_t pid;
  size_t job;
  Clock::time_point start;
  bool signalled = false;
};

std::string hms(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  std::ostringstream out;
  out << s / 3600 << ":" << std::setw(2) << std::setfill('0') << s / 60 % 60 << ":" << std::setw(2)
      << s % 60;
  return out.str();
}

// This process's environment without what an MPI launcher set: a run started by a rank of
// `mpirun heed compare` is a process of its own, not a rank of the job.
std::vector<std::string> environment_for_runs() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string var = *e;
    if (var.rfind("OMPI_", 0) == 0 || var.rfind("PMI_", 0) == 0 || var.rfind("PMIX_", 0) == 0)
      continue;
    env.push_back(var);
  }
  return env;
}

// Starts `argv` with stdout and stderr appended to `log`, in a process group of its own (the
// terminal's Ctrl-C reaches this command alone, which passes it on once) that gets SIGTERM if
// this process dies (so no run trains on unattended).
pid_t spawn(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::vector<std::string> env = environment_for_runs();
  std::vector<char*> envp;
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  HEED_CHECK(fd >= 0, "compare: cannot open ", log.string(), ": ", std::strerror(errno));
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {  // only async-signal-safe calls until exec
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  const int error = errno;
  ::close(fd);
  HEED_CHECK(pid > 0, "compare: cannot start a run: ", std::strerror(error));
  return pid;
}

// The `heed train` command of a job: a new run from its recipe file, or a resume.
std::vector<std::string> train_command(const std::string& heed, const Job& job, int64_t threads) {
  if (job.state == RunState::Started)
    return {heed,       "train",
            "--resume", job.dir.string(),
            "--set",    "train.threads=" + std::to_string(threads)};
  return {heed, "train", job.dir.string() + ".recipe.json", "--out", job.dir.string()};
}

// "finished, 0:20:34; dev wer 0.2852, per 0.0701" from a run's summary.json: the evaluation
// that dev selected.
std::string outcome(const fs::path& dir, const std::vector<StudyMetric>& metrics) {
  const nlohmann::json s = read_run_json((dir / "summary.json").string());
  const nlohmann::json dev = selected_dev(s);
  std::ostringstream out;
  out << s.value("status", std::string("?")) << ", " << hms(s.value("elapsed_s", 0.0)) << "; dev";
  for (size_t i = 0; i < metrics.size(); ++i) {
    out << (i ? ", " : " ") << metrics[i].name << " ";
    if (dev.is_object() && dev.contains(metrics[i].name) && dev[metrics[i].name].is_number())
      out << dev[metrics[i].name].get<double>();
    else
      out << "(none)";
  }
  return out.str();
}

// How far a running run is: the "progress" (share of its budget) and "elapsed_s" of the last
// train line of its metrics.jsonl; nullopt before its first.
struct RunProgress {
  double done = 0, elapsed_s = 0;
};

std::optional<RunProgress> run_progress(const fs::path& dir) {
  const fs::path path = dir / "metrics.jsonl";
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  std::string text;
  try {
    text = files::read(path.string(), "run file");
  } catch (const Error&) {
    return std::nullopt;  // between a resume's cut and its first line: read it next time
  }
  std::istringstream lines(text);
  std::string line;
  std::optional<RunProgress> last;
  while (std::getline(lines, line)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("kind", "") == "train" && j.contains("progress"))
      last = RunProgress{j.value("progress", 0.0), j.value("elapsed_s", 0.0)};
  }
  return last;
}

class Scheduler {
 public:
  // The jobs this process trains are those `queue` hands it (every job's index, in order; under
  // mpirun shared with the other ranks as each frees a slot).
  Scheduler(std::vector<Job> jobs, WorkQueue& queue, const Study& study, int64_t parallel,
            int64_t threads)
      : jobs_(std::move(jobs)),
        queue_(queue),
        study_(study),
        parallel_(parallel),
        threads_(threads) {}

  // Runs every job that has not ended; the exit status of the command.
  int run() {
    heed_ = fs::read_symlink("/proc/self/exe").string();
    for (const Job& job : jobs_) ended_ += job.state == RunState::Ended;
    while (!exhausted_ || !children_.empty()) {
      while (!stop_requested() && children_.size() < static_cast<size_t>(parallel_))
        if (const std::optional<size_t> j = claim())
          start(*j);
        else
          break;
      if (children_.empty()) break;
      if (stop_requested()) pass_on_stop();
      reap();
      report_progress();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return finish();
  }

 private:
  // The next job the queue hands out that has not ended.
  std::optional<size_t> claim() {
    while (!exhausted_) {
      const std::optional<size_t> j = queue_.next();
      exhausted_ = !j;
      if (j && jobs_[*j].state != RunState::Ended) return j;
    }
    return std::nullopt;
  }

  void start(size_t j) {
    const Job& job = jobs_[j];
    fs::create_directories(job.dir.parent_path());
    if (job.state == RunState::New) {
      nlohmann::json recipe = job.run.recipe;
      recipe["train"]["threads"] = threads_;
      files::write_atomically(job.dir.string() + ".recipe.json", recipe.dump(2) + "\n", "recipe");
    }
    const pid_t pid = spawn(train_command(heed_, job, threads_), job.dir.string() + ".log");
    children_.push_back({pid, j, Clock::now()});
    std::cerr << prefix() << (job.state == RunState::Started ? "resume " : "start ") << job.run.dir
              << " (log " << job.dir.string() << ".log)\n";
  }

  void pass_on_stop() {
    for (Child& c : children_)
      if (!c.signalled) ::kill(c.pid, stop_signal()), c.signalled = true;
  }

  void reap() {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      auto it = std::find_if(children_.begin(), children_.end(),
                             [&](const Child& c) { return c.pid == pid; });
      if (it == children_.end()) continue;
      const Child child = *it;
      children_.erase(it);
      ended(child, status);
    }
  }

  void ended(const Child& child, int status) {
    const Job& job = jobs_[child.job];
    const double seconds = std::chrono::duration<double>(Clock::now() - child.start).count();
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code == 0 || run_state(job.dir.string()) == RunState::Ended) {
      ++ended_;
      durations_ += seconds, ++timed_;
      std::cerr << prefix() << "ended " << job.run.dir << " (" << outcome(job.dir, study_.metrics)
                << ")" << eta() << "\n";
    } else if (code == 130 || code == 143) {
      std::cerr << prefix() << "stopped " << job.run.dir << " at its checkpoint\n";
    } else {
      failed_.push_back(job.run.dir);
      std::cerr << prefix() << "FAILED " << job.run.dir << " (exit status " << code << "; see "
                << job.dir.string() << ".log)\n";
    }
  }

  // Every 5 minutes while runs train: each running run's share of its budget and the ETA.
  void report_progress() {
    const Clock::time_point now = Clock::now();
    if (now - last_report_ < std::chrono::minutes(5) || children_.empty()) return;
    last_report_ = now;
    std::cerr << prefix() << "running:";
    for (const Child& c : children_) {
      const auto p = run_progress(jobs_[c.job].dir);
      std::cerr << " " << jobs_[c.job].run.dir << " "
                << (p ? std::to_string(static_cast<int>(100 * p->done)) + "%" : "starting");
    }
    std::cerr << eta() << "\n";
  }

  // "[3/18] "
  std::string prefix() const {
    return "[" + std::to_string(ended_) + "/" + std::to_string(jobs_.size()) + "] ";
  }

  // "; ETA 1:02:03": what the running runs have left at their pace so far (elapsed x (1 - done)
  // / done), and each pending run as long as the mean run (those this command saw end, and the
  // running ones' projected whole), spread over the parallel slots. Early stopping makes it an
  // upper bound.
  std::string eta() const {
    double whole = durations_, left = 0;
    size_t wholes = timed_;
    for (const Child& c : children_) {
      const auto p = run_progress(jobs_[c.job].dir);
      if (!p || p->done <= 0) continue;
      whole += p->elapsed_s / p->done, ++wholes;
      left += p->elapsed_s * (1 - p->done) / p->done;
    }
    if (wholes == 0) return "";
    // The queue hands out jobs in order: those not taken are the last ones.
    size_t pending = 0;
    for (size_t j = jobs_.size() - queue_.left(); j < jobs_.size(); ++j)
      pending += jobs_[j].state != RunState::Ended;
    left += static_cast<double>(pending) * whole / static_cast<double>(wholes);
    return "; ETA " + hms(left / static_cast<double>(parallel_));
  }

  int finish() const {
    if (stop_requested()) {
      std::cerr << "compare: stopped; " << ended_ << " of " << jobs_.size()
                << " runs ended; the same command continues the study\n";
      return 128 + stop_signal();
    }
    if (!failed_.empty()) {
      std::cerr << "compare: " << failed_.size() << " run(s) failed:";
      for (const std::string& f : failed_) std::cerr << " " << f;
      std::cerr << "\n";
      return 1;
    }
    std::cerr << "compare: all " << jobs_.size() << " runs ended\n";
    return 0;
  }

  std::vector<Job> jobs_;
  WorkQueue& queue_;
  const Study& study_;
  int64_t parallel_, threads_;
  std::string heed_;
  bool exhausted_ = false;  // the queue has nothing more for this process
  std::vector<Child> children_;
  std::vector<std::string> failed_;
  size_t ended_ = 0, timed_ = 0;
  double durations_ = 0;
  Clock::time_point last_report_ = Clock::now();
};

// An ended run's model with the weights its test evaluation read (the dev-selected ones, named
// in `weights`).
std::unique_ptr<Trainer> selected_weights(const fs::path& run_dir, std::string& weights) {
  const nlohmann::json summary = read_run_json((run_dir / "summary.json").string());
  const std::string checkpoint =
      summary.value("/final_eval/test/checkpoint"_json_pointer, std::string("last"));
  weights = (run_dir / "checkpoints" / (checkpoint + ".h5")).string();
  auto trainer = std::make_unique<Trainer>(
      read_run_json((run_dir / "recipe.resolved.json").string()), run_dir.string());
  trainer->load_weights(weights);
  return trainer;
}

// RUN/erasure_dev.json: the erasure test (framework/erasure.h) of a run's dev-selected weights,
// which the report reads; for a model the test does not apply to (no attention over its input,
// a model that is no seq2seq model, classifier or language model), why, so that a rerun of the
// study does not load the model again for it.
void write_erasure(Trainer& trainer, const std::string& weights, const StudyRun& run,
                   const fs::path& out) {
  nlohmann::json result;
  try {
    result = trainer.erasure("dev", {.seed = static_cast<uint64_t>(run.seed)});
    result["checkpoint"] = weights;
  } catch (const Error& e) {
    const std::string why = e.what();
    if (why.find("erasure test: needs a sequence-to-sequence") == std::string::npos &&
        why.find("erasure test: the model records no") == std::string::npos)
      throw;
    result = {{"not_applicable", why}};
  }
  files::write_atomically(out.string(), result.dump(2) + "\n", "run file");
}

// `file`: the attention on the dev split's first example (`heed inspect`), which
// tools/plot_study.py draws; none when the model records no attention (an RNN seq2seq model
// records nothing, an RNN classifier its logits alone).
void write_attention_map(Trainer& trainer, const std::string& weights, const fs::path& file) {
  fs::create_directories(file.parent_path());
  nlohmann::json written;
  try {
    written = trainer.inspect("dev", {0}, file.string(), weights);
  } catch (const Error& e) {
    if (std::string(e.what()).find("records nothing") == std::string::npos) throw;
    return;
  }
  bool attention = false;
  for (const auto& [name, shape] : written["records"].items())
    attention = attention || name.ends_with("weights");
  if (!attention) fs::remove(file);
}

// What the report shows of attention beyond the runs' logs: each ended run's erasure test (once)
// and, for the first seed of every variant and grid point, its attention map in
// DIR/inspect/<variant>[__<point>].h5. Each run's model is loaded once, with the weights its test
// evaluation read (the dev-selected ones); a failure costs that run's part only.
void attention_reports(const Study& study, const fs::path& dir) {
  fs::remove_all(dir / "inspect");
  for (const StudyRun& run : study.runs()) {
    const fs::path run_dir = dir / run.dir;
    const fs::path erasure = run_dir / "erasure_dev.json";
    const bool map = run.seed == study.seeds.front();
    if (run_state(run_dir.string()) != RunState::Ended || (!map && fs::exists(erasure))) continue;
    std::string label = run.variant + (run.point.empty() ? "" : "__" + run.point);
    std::replace_if(
        label.begin(), label.end(), [](char c) { return c == '/' || c == '='; }, '-');
    try {
      std::string weights;
      const std::unique_ptr<Trainer> trainer = selected_weights(run_dir, weights);
      if (!fs::exists(erasure)) write_erasure(*trainer, weights, run, erasure);
      if (map) write_attention_map(*trainer, weights, dir / "inspect" / (label + ".h5"));
    } catch (const std::exception& e) {
      std::cerr << "heed: warning: " << run.dir
                << ": no erasure test or attention map: " << e.what() << "\n";
    }
  }
  std::error_code ec;
  if (fs::is_empty(dir / "inspect", ec)) fs::remove(dir / "inspect", ec);
}

// The report (framework/study_report.h) with the plots of tools/plot_study.py, when that runs
// (it needs Debian's python3-matplotlib); without them the report says what it can in tables.
void make_report(const Study& study, const fs::path& dir) {
  fs::remove_all(dir / "plots");  // no plot of an older report may stand beside this one
  attention_reports(study, dir);
  write_study_report(study, dir.string());
  const fs::path script = fs::path(HEED_TOOLS_DIR) / "plot_study.py";
  const fs::path log = dir / "plot_study.log";
  fs::remove(log);
  int status = -1;
  if (fs::exists(script)) {
    const pid_t pid = spawn({"/usr/bin/python3", script.string(), dir.string()}, log);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    write_study_report(study, dir.string());  // now with the plots
  } else {
    std::cerr << "heed: warning: the plots were not drawn ("
              << (fs::exists(script) ? "see " + log.string() : script.string() + " is missing")
              << "); the report has its tables\n";
  }
  std::cerr << "report: " << (dir / "report.md").string() << ", report.html, report.csv, "
            << "report.json\n";
}

// Builds every run's model and data as `heed train --dry-run` does; prints one line a run.
int dry_run(const std::vector<Job>& jobs, const Study& study) {
  for (const Job& job : jobs) {
    try {
      Trainer trainer(job.run.recipe, "(dry run)");
      std::cout << job.run.dir << ": " << trainer.model().num_parameters() << " parameters\n";
    } catch (const Error& e) {
      throw Error("study " + study.path + ": run " + job.run.dir + ": " + e.what());
    }
  }
  std::cout << "study " << study.path << " is valid: " << jobs.size()
            << " runs; --dry-run trains nothing\n";
  return 0;
}

}  // namespace

CompareCommand::CompareCommand(CLI::App& app) {
  command_ = app.add_subcommand(
      "compare", "train every variant x seed of a study (a JSON file), N runs at a time");
  command_->add_option("study", study_, "study JSON file")->required()->check(CLI::ExistingFile);
  command_->add_option("--out", out_, "the study's directory (default: runs/<study name>)");
  command_->add_option("--jobs", jobs_, "runs at a time, the cores divided among them (1)")
      ->check(CLI::Range(int64_t{1}, int64_t{1024}));
  command_->add_flag("--dry-run", dry_run_,
                     "validate the study and build every run's model; train nothing");
}

int CompareCommand::run() const {
  const Study study = load_study(study_);
  const fs::path dir = out_.empty() ? fs::path("runs") / fs::path(study_).stem() : fs::path(out_);
  std::vector<Job> jobs;
  for (StudyRun& run : study.runs()) {
    const fs::path run_dir = dir / run.dir;
    jobs.push_back({std::move(run), run_dir, RunState::New});
  }
  if (dry_run_) return dry_run(jobs, study);

  const Communicator& world = Communicator::world();
  fs::create_directories(dir);
  if (world.root()) {
    std::string holder;
    const int lock = try_lock(dir, "heed compare " + study_, holder);
    HEED_CHECK(lock >= 0, "study directory ", dir.string(), " is in use by ", holder);
  }
  std::string stale;
  for (Job& job : jobs) {
    job.state = run_state(job.dir.string());
    if (job.state == RunState::New) continue;
    if (const std::string why = recipe_mismatch(job.dir.string(), job.run.recipe); !why.empty())
      stale += "\n  " + job.dir.string() + ": " + why;
  }
  HEED_CHECK(stale.empty(), "study ", study.path, " changed since these runs began (move them ",
             "away to train them anew, or restore the study):", stale);
  std::string recipes;  // every run's, as this rank's study files give them
  for (const Job& job : jobs) recipes += job.run.recipe.dump();
  world.require_same("the study", recipes);
  // Every rank has seen the runs' states before any starts one.
  world.barrier();
  const int64_t cores = omp_get_num_procs();
  const int64_t threads = std::max<int64_t>(1, cores / (jobs_ * world.local_size()));
  std::cerr << "study " << study.path << ": " << jobs.size() << " runs in " << dir.string() << ", "
            << jobs_ << " at a time" << (world.size() > 1 ? " on each of " : "")
            << (world.size() > 1 ? std::to_string(world.size()) + " ranks" : "") << " with "
            << threads << " thread(s) each\n";
  double status = 0;
  {
    // Under mpirun each rank takes the next run as soon as one of its slots is free.
    WorkQueue queue(world, jobs.size());
    status = Scheduler(std::move(jobs), queue, study, jobs_, threads).run();
  }
  // The job's status: a stop or a failure on any rank, once every rank's runs have ended (asleep
  // till then: a blocking reduction would spin a core their runs need).
  world.barrier();
  world.allreduce_max(&status, 1);
  // Every run ended or failed: the report of those that ended.
  if ((status == 0 || status == 1) && world.root()) make_report(study, dir);
  return static_cast<int>(status);
}

}  // namespace heed::cli
