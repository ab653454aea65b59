#pragma once
// TrainLog: a run's metrics.jsonl and the window of steps its next train line averages.
//
// metrics.jsonl holds one JSON object a line: "kind" "train" every train.log_interval steps (the
// window's mean loss, metrics and gradient norm, samples/s), "eval" for evaluations. Lines are
// appended whole (files::AppendFile). The window's sums are part of a checkpoint
// (window_state()), and a resumed run cuts metrics.jsonl back to the size its checkpoint recorded,
// so after any sequence of kills and resumes every step is logged once and each train line
// averages the same steps, with the same values, as in an uninterrupted run. A line whose window
// spans a stop and resume says "interrupted": true (its samples/s counts the time spent training
// only).

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "framework/files.h"

namespace heed {

class TrainLog {
 public:
  /// Opens `path` (metrics.jsonl) cut back to `keep_bytes`: 0 for a new run, the size its
  /// checkpoint recorded for a resumed one, < 0 (unknown, an older checkpoint) to keep it all. A
  /// file shorter than that (edited, or lost lines in a crash of the machine) gets a warning on
  /// stderr and is kept. Throws heed::Error naming the file when it cannot be opened.
  void open(const std::string& path, int64_t keep_bytes);

  /// One optimizer step into the window: its loss, metrics (batch means), gradient norm and time.
  void add_step(double loss, const std::map<std::string, double>& metrics, double grad_norm,
                double seconds);
  /// A step whose loss or gradient was not finite and was skipped (train.on_nonfinite "skip").
  void add_skipped(double seconds) {
    ++skipped_;
    seconds_ += seconds;
  }
  /// Steps and skipped steps in the window.
  int64_t window_steps() const { return steps_ + skipped_; }
  double mean_loss() const { return steps_ ? loss_sum_ / steps_ : 0.0; }
  double samples_per_s(int64_t batch_size) const;

  /// Completes `line` (kind, epoch, step, lr, ... set by the caller) with the window's means
  /// and appends it; starts a new window.
  void append_window(nlohmann::json line, int64_t batch_size);
  /// Appends one line as it is (evaluations).
  void append(const nlohmann::json& line);
  /// Syncs the file to disk and returns its size, for a checkpoint to record.
  int64_t sync();

  /// The window's sums, for a checkpoint; restore_window continues them after a resume.
  nlohmann::json window_state() const;
  void restore_window(const nlohmann::json& state);

 private:
  files::AppendFile file_;
  int64_t steps_ = 0, skipped_ = 0;
  double loss_sum_ = 0, grad_norm_sum_ = 0, seconds_ = 0;
  std::map<std::string, double> metric_sums_;
  bool interrupted_ = false;  // the window began before a stop and goes on after a resume
};

}  // namespace heed
