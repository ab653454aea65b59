#include "framework/cli/compare.h"

#include <fcntl.h>
#include <omp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "framework/error.h"
#include "framework/files.h"
#include "framework/run_dir.h"
#include "framework/signals.h"
#include "framework/study.h"
#include "framework/study_report.h"
#include "framework/trainer.h"

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

// Starts `argv` with stdout and stderr appended to `log`, in a process group of its own (the
// terminal's Ctrl-C reaches this command alone, which passes it on once) that gets SIGTERM if
// this process dies (so no run trains on unattended).
pid_t spawn(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
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
    ::execv(argv[0], argv.data());
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

class Scheduler {
 public:
  Scheduler(std::vector<Job> jobs, const Study& study, int64_t parallel, int64_t threads)
      : jobs_(std::move(jobs)), study_(study), parallel_(parallel), threads_(threads) {}

  // Runs every job that has not ended; the exit status of the command.
  int run() {
    heed_ = fs::read_symlink("/proc/self/exe").string();
    for (size_t i = 0; i < jobs_.size(); ++i)
      if (jobs_[i].state == RunState::Ended)
        ++ended_;
      else
        pending_.push_back(i);
    while (!pending_.empty() || !children_.empty()) {
      while (!stop_requested() && children_.size() < static_cast<size_t>(parallel_) &&
             !pending_.empty())
        start(pending_.front()), pending_.erase(pending_.begin());
      if (children_.empty()) break;
      if (stop_requested()) pass_on_stop();
      reap();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return finish();
  }

 private:
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

  // "[3/18] "
  std::string prefix() const {
    return "[" + std::to_string(ended_) + "/" + std::to_string(jobs_.size()) + "] ";
  }

  // "; ETA 1:02:03", from the mean time of the runs this command saw end.
  std::string eta() const {
    if (timed_ == 0) return "";
    const double mean = durations_ / static_cast<double>(timed_);
    const double left = static_cast<double>(pending_.size() + children_.size());
    return "; ETA " + hms(mean * left / static_cast<double>(parallel_));
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
  const Study& study_;
  int64_t parallel_, threads_;
  std::string heed_;
  std::vector<size_t> pending_;
  std::vector<Child> children_;
  std::vector<std::string> failed_;
  size_t ended_ = 0, timed_ = 0;
  double durations_ = 0;
};

// The report (framework/study_report.h) with the plots of tools/plot_study.py, when that runs
// (it needs Debian's python3-matplotlib); without them the report says what it can in tables.
void make_report(const Study& study, const fs::path& dir) {
  fs::remove_all(dir / "plots");  // no plot of an older report may stand beside this one
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

  fs::create_directories(dir);
  std::string holder;
  const int lock = try_lock(dir, "heed compare " + study_, holder);
  HEED_CHECK(lock >= 0, "study directory ", dir.string(), " is in use by ", holder);
  std::string stale;
  for (Job& job : jobs) {
    job.state = run_state(job.dir.string());
    if (job.state == RunState::New) continue;
    if (const std::string why = recipe_mismatch(job.dir.string(), job.run.recipe); !why.empty())
      stale += "\n  " + job.dir.string() + ": " + why;
  }
  HEED_CHECK(stale.empty(), "study ", study.path, " changed since these runs began (move them ",
             "away to train them anew, or restore the study):", stale);
  const int64_t cores = omp_get_num_procs();
  const int64_t threads = std::max<int64_t>(1, cores / jobs_);
  std::cerr << "study " << study.path << ": " << jobs.size() << " runs in " << dir.string() << ", "
            << jobs_ << " at a time with " << threads << " thread(s) each\n";
  const int status = Scheduler(std::move(jobs), study, jobs_, threads).run();
  // Every run ended or failed: the report of those that ended.
  if (status == 0 || status == 1) make_report(study, dir);
  return status;
}

}  // namespace heed::cli
