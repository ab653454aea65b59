#pragma once
// EarlyStopping: ends a run when an evaluation metric has not improved for `patience`
// evaluations in a row (Prechelt 1998, "Early Stopping - But When?"; the rule of PyTorch
// Lightning's EarlyStopping callback).
//
// At each evaluation with value v: improved = v < best - min_delta (mode "min") or
// v > best + min_delta (mode "max"), the first value always improving. If improved, best = v and
// the bad count resets; else the bad count grows, and the run stops when it reaches patience.
//
// State (checkpointed): best (null before the first evaluation) and the bad count.
//
// The implementation of heed::EarlyStopping (framework/optimizer.h); optim/registry.cpp builds it
// from a recipe's "train.early_stopping".

#include <nlohmann/json.hpp>
#include <string>

#include "framework/optimizer.h"

namespace heed::optim {

struct EarlyStoppingOptions {
  std::string metric = "loss";
  std::string mode = "min";  // "min" or "max"
  int64_t patience = 3;
  double min_delta = 0;
};

class EarlyStopping : public heed::EarlyStopping {
 public:
  /// Throws heed::Error naming a bad option.
  explicit EarlyStopping(EarlyStoppingOptions options);

  /// Feeds one evaluation's metrics; returns true when the run should stop. Throws heed::Error
  /// naming the metric and the available ones when it is missing.
  bool step(const nlohmann::json& metrics) override;
  /// Whether the last step() improved the best value.
  bool improved() const override { return improved_; }
  bool has_best() const { return has_best_; }
  double best() const { return best_; }
  const EarlyStoppingOptions& options() const { return o_; }

  /// {"metric", "best", "bad_evaluations"}.
  nlohmann::json state_dict() const override;
  /// Throws heed::Error when the state watched another metric or is malformed.
  void load_state_dict(const nlohmann::json& state) override;

 private:
  EarlyStoppingOptions o_;
  bool has_best_ = false, improved_ = false;
  double best_ = 0;
  int64_t bad_ = 0;
};

}  // namespace heed::optim
