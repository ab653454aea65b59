#pragma once
// ProgressLine: what a person watching a training run sees. On a terminal, one line redrawn in
// place (epoch, step/total, loss, samples/s, ETA); elsewhere (CI, a log file), a plain line at
// each log interval. Evaluations print on their own line either way. Output goes to stderr, so
// stdout stays for machine-readable results.

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace heed {

class ProgressLine {
 public:
  /// `shown` false: prints nothing (a rank other than 0 of a data-parallel run).
  ProgressLine(int64_t total_steps, int64_t first_step, bool terminal, bool shown = true);
  /// After every step; redraws at most ten times a second, on a terminal only.
  void update(int64_t step, int64_t epoch, double loss, double samples_per_s);
  /// At each log interval; prints a plain line when not on a terminal.
  void log(int64_t step, int64_t epoch, double loss, double samples_per_s);
  void eval(const nlohmann::json& result);
  void finish();

 private:
  std::string text(int64_t step, int64_t epoch, double loss, double samples_per_s) const;
  int64_t total_, first_;
  bool terminal_, shown_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace heed
