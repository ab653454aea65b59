#include "framework/signals.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

namespace heed {

namespace {

std::atomic<int> g_signal{0};

// The receiving thread: the first signal asks for a stop, the second ends the process at once.
void receive(sigset_t set) {
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (g_signal.exchange(sig) != 0) {
      const char message[] = "\nheed: second signal: exiting at once, without a checkpoint\n";
      [[maybe_unused]] const ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
      ::_exit(128 + sig);
    }
  }
}

}  // namespace

void install_stop_signals() {
  static std::once_flag once;
  std::call_once(once, [] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread(receive, set).detach();
  });
}

bool stop_requested() {
  return g_signal.load() != 0;
}

int stop_signal() {
  return g_signal.load();
}

void request_stop(int signal) {
  g_signal = signal;
}

void clear_stop_request() {
  g_signal = 0;
}

}  // namespace heed
