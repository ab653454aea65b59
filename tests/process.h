#pragma once
// Runs the heed command line as a child process that a test can signal or kill while it works
// (tests/cli.h runs it to the end through the shell instead).

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace heed::testing {

/// How a child ended: its exit status, or the signal that killed it.
struct Ending {
  int status = -1;  // exit status when it exited
  int signal = 0;   // the signal that ended it, 0 when it exited
  bool crashed() const { return signal != 0 && signal != SIGKILL; }
};

class Child {
 public:
  /// Starts `heed <args>` with `env` added to the environment, stdout to /dev/null and stderr
  /// appended to `log`.
  Child(const std::vector<std::string>& args, const std::string& log,
        const std::vector<std::string>& env = {}) {
    std::vector<std::string> all = {HEED_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_all = env;
    for (char** e = environ; *e; ++e) env_all.emplace_back(*e);
    std::vector<char*> envp;
    for (std::string& e : env_all) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int rc = posix_spawn(&pid_, HEED_BINARY, &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = -1;
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0 && !ended_) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }

  pid_t pid() const { return pid_; }
  void signal(int sig) const { ::kill(pid_, sig); }

  /// Waits until the child's run directory `dir` is locked by it: its main() has begun, so its
  /// stop signals are in place. False if it ended first (or after a minute, a hung child).
  bool wait_until_running(const std::filesystem::path& dir) const {
    const std::string mine = "process " + std::to_string(pid_) + " ";
    for (int i = 0; i < 60000; ++i) {
      std::ifstream in(dir / ".lock");
      const std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      if (text.rfind(mine, 0) == 0) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        ended_ = true;
        ending_ = ending_of(status);
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }

  Ending wait() {
    if (ended_) return ending_;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    ended_ = true;
    ending_ = ending_of(status);
    return ending_;
  }

 private:
  static Ending ending_of(int status) {
    if (WIFEXITED(status)) return {WEXITSTATUS(status), 0};
    return {-1, WIFSIGNALED(status) ? WTERMSIG(status) : -1};
  }
  pid_t pid_ = -1;
  mutable bool ended_ = false;
  mutable Ending ending_;
};

}  // namespace heed::testing
