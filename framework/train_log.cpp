#include "framework/train_log.h"

#include <algorithm>
#include <iostream>

namespace heed {

void TrainLog::open(const std::string& path, int64_t keep_bytes) {
  file_ = files::AppendFile(path);
  const int64_t size = file_.size();
  if (keep_bytes < 0) return;  // a checkpoint from before metrics_bytes: keep every line
  if (size < keep_bytes)
    std::cerr << "heed: warning: " << path << " has " << size << " bytes where the checkpoint "
              << "recorded " << keep_bytes << ": lines logged before the checkpoint are missing\n";
  else if (size > keep_bytes)
    file_.truncate(keep_bytes);  // lines of the steps after the checkpoint, about to be redone
}

void TrainLog::add_step(double loss, const std::map<std::string, double>& metrics, double grad_norm,
                        double seconds) {
  ++steps_;
  loss_sum_ += loss;
  grad_norm_sum_ += grad_norm;
  seconds_ += seconds;
  for (const auto& [name, value] : metrics) metric_sums_[name] += value;
}

double TrainLog::samples_per_s(int64_t batch_size) const {
  return static_cast<double>(window_steps() * batch_size) / std::max(seconds_, 1e-9);
}

void TrainLog::append_window(nlohmann::json line, int64_t batch_size) {
  const double n = static_cast<double>(std::max<int64_t>(steps_, 1));
  line["loss"] = loss_sum_ / n;
  line["grad_norm"] = grad_norm_sum_ / n;
  line["samples_per_s"] = samples_per_s(batch_size);
  for (const auto& [name, value] : metric_sums_) line[name] = value / n;
  if (skipped_ > 0) line["skipped_steps"] = skipped_;
  if (interrupted_) line["interrupted"] = true;
  append(line);
  steps_ = skipped_ = 0;
  loss_sum_ = grad_norm_sum_ = seconds_ = 0;
  metric_sums_.clear();
  interrupted_ = false;
}

void TrainLog::append(const nlohmann::json& line) {
  file_.append(line.dump() + "\n");
}

int64_t TrainLog::sync() {
  file_.sync();
  return file_.size();
}

nlohmann::json TrainLog::window_state() const {
  return {{"steps", steps_},
          {"skipped", skipped_},
          {"loss_sum", loss_sum_},
          {"metrics", metric_sums_},
          {"grad_norm_sum", grad_norm_sum_},
          {"seconds", seconds_}};
}

void TrainLog::restore_window(const nlohmann::json& s) {
  steps_ = s.at("steps").get<int64_t>();
  skipped_ = s.at("skipped").get<int64_t>();
  loss_sum_ = s.at("loss_sum").get<double>();
  metric_sums_ = s.at("metrics").get<std::map<std::string, double>>();
  grad_norm_sum_ = s.at("grad_norm_sum").get<double>();
  seconds_ = s.at("seconds").get<double>();
  interrupted_ = window_steps() > 0;
}

}  // namespace heed
