#include "framework/watchdog.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "framework/error.h"

namespace heed {

namespace {

double env_seconds(const char* name, double fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const double s = std::strtod(v, &end);
  HEED_CHECK(*end == '\0' && std::isfinite(s) && s > 0, name, " is \"", v,
             "\": give a positive number of seconds");
  return s;
}

// When this rank began waiting at a step's collectives; negative: it is not waiting.
std::atomic<double> g_waiting_since{-1};

std::string rank_list(const std::vector<int>& ranks) {
  std::ostringstream out;
  out << (ranks.size() == 1 ? "rank " : "ranks ");
  for (size_t i = 0; i < ranks.size(); ++i) out << (i ? ", " : "") << ranks[i];
  return out.str();
}

}  // namespace

double watchdog_clock_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

WatchdogTimeouts WatchdogTimeouts::from_environment() {
  WatchdogTimeouts t;
  t.heartbeat_s = env_seconds("HEED_HEARTBEAT_TIMEOUT", t.heartbeat_s);
  t.stall_s = env_seconds("HEED_STALL_TIMEOUT", t.stall_s);
  return t;
}

std::string hung_ranks(const std::vector<RankBeat>& ranks, const WatchdogTimeouts& timeouts) {
  std::vector<int> silent, working;
  double silent_for = 0, longest_wait = -1;
  for (size_t r = 0; r < ranks.size(); ++r) {
    const RankBeat& b = ranks[r];
    if (b.done) continue;
    if (b.silent_s > timeouts.heartbeat_s) {
      silent.push_back(static_cast<int>(r));
      silent_for = std::max(silent_for, b.silent_s);
    } else if (b.waiting_s < 0) {
      working.push_back(static_cast<int>(r));
    } else {
      longest_wait = std::max(longest_wait, b.waiting_s);
    }
  }
  std::ostringstream out;
  if (!silent.empty()) {
    out << rank_list(silent) << " stopped answering: no heartbeat for " << silent_for
        << " s (HEED_HEARTBEAT_TIMEOUT: " << timeouts.heartbeat_s
        << " s): a stopped or frozen process, or a machine or network lost";
  } else if (longest_wait > timeouts.stall_s) {
    if (working.empty())
      out << "every rank has waited at a training step's collectives for " << longest_wait
          << " s (HEED_STALL_TIMEOUT: " << timeouts.stall_s << " s): a deadlock";
    else
      out << rank_list(working) << " did not reach the training step's collectives that "
          << "another rank has waited at for " << longest_wait
          << " s (HEED_STALL_TIMEOUT: " << timeouts.stall_s
          << " s): a rank stuck in its computation";
  }
  return out.str();
}

StepWait::StepWait() {
  g_waiting_since = watchdog_clock_s();
}

StepWait::~StepWait() {
  g_waiting_since = -1;
}

double StepWait::seconds() {
  const double since = g_waiting_since;
  return since < 0 ? -1 : watchdog_clock_s() - since;
}

}  // namespace heed
