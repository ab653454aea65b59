#pragma once
// Trainer: runs a resolved recipe (ARCHITECTURE.md, "The flow of one training run").
//
// For each batch: model.forward(batch) -> {loss, metrics}; loss.backward(); optimizer.step();
// zero_grad. Every train.log_interval steps it appends the window's mean loss, metrics, learning
// rate, samples/s and elapsed seconds to metrics.jsonl; it evaluates on the test split every
// train.eval_interval steps (0: at each epoch's end) and checkpoints to checkpoints/last.h5 every
// train.checkpoint_interval steps (0: at each epoch's end). SIGINT or SIGTERM stop it after the
// current step with a checkpoint, so `heed train --resume RUN_DIR` continues the same run: same
// data order, same random stream, same optimizer state, schedule position, plateau counters and
// early-stopping state.
//
// Between backward and optimizer step it clips the gradients (train.clip_grad_value, then
// train.clip_grad_norm) and logs the global gradient norm before norm clipping ("grad_norm");
// after the step it advances the learning-rate schedule (recipe "schedule", docs/optim.md).
// After each evaluation it feeds reduce_on_plateau and early stopping; with early stopping, the
// best evaluation's checkpoint is kept as checkpoints/best.h5.

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "framework/checkpoint.h"
#include "framework/loader.h"
#include "framework/random.h"
#include "framework/registry.h"

namespace heed {

namespace optim {
class Optimizer;
class LRScheduler;
class EarlyStopping;
}  // namespace optim

/// The recipe's "train" section; docs/recipes.md documents each key.
struct TrainOptions {
  int64_t epochs = 1;
  int64_t max_steps = 0;  // stop after this many optimizer steps in all (0: no limit)
  int64_t batch_size = 64;
  int64_t eval_batch_size = 256;
  uint64_t seed = 0;
  int64_t threads = 0;  // 0: OMP_NUM_THREADS, else every core
  int64_t log_interval = 50;
  int64_t eval_interval = 0;
  int64_t checkpoint_interval = 0;
  double clip_grad_norm = 0;       // max global norm (0: no norm clipping)
  double clip_grad_norm_type = 2;  // p of the norm, or infinity ("inf" in a recipe)
  double clip_grad_value = 0;      // max |gradient element| (0: no value clipping)
  static TrainOptions from_config(const Config& config);
};

class Trainer {
 public:
  /// Builds data, model and optimizer from a resolved recipe; throws heed::Error on any bad key.
  Trainer(const nlohmann::json& recipe, const std::string& run_dir);
  ~Trainer();

  /// The model tree, its parameter count and the optimizer, as `--dry-run` prints them.
  std::string describe() const;
  /// Restores model, optimizer, generator and progress from a checkpoint.
  void restore(const std::string& checkpoint_path);
  /// Trains to the end of the recipe (or an interrupt); returns summary.json's content.
  nlohmann::json train();
  /// Mean loss and metrics over a split ("train" or "test"), in eval mode without gradients.
  nlohmann::json evaluate(const std::string& split);
  /// `heed inspect`: examples `indices` of a split through the model with an Inspector, written
  /// to `path` with the checkpoint's name for provenance (framework/inspect.h, docs/inspect.md).
  nlohmann::json inspect(const std::string& split, const std::vector<int64_t>& indices,
                         const std::string& path, const std::string& checkpoint);

 private:
  /// The dataset of "train" or "test"; throws heed::Error naming the valid splits otherwise.
  const std::shared_ptr<Dataset>& split_data(const std::string& split) const;
  void train_step(const Batch& batch, double& loss_sum, std::map<std::string, double>& metric_sums);
  /// Feeds an evaluation to the schedule and early stopping; true when the run should stop.
  bool after_evaluation(const nlohmann::json& eval);
  nlohmann::json train_state() const;
  void log_train(int64_t window, double loss_sum, std::map<std::string, double>& metric_sums,
                 double seconds);
  nlohmann::json run_evaluation();
  void save(const std::string& file = "last.h5");
  void append_metrics(const nlohmann::json& line);
  int64_t elapsed_ms() const;
  bool finished() const;

  nlohmann::json recipe_;
  std::string run_dir_;
  TrainOptions options_;
  Generator gen_;
  DataSplits data_;
  std::shared_ptr<Model> model_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  std::unique_ptr<optim::LRScheduler> scheduler_;
  std::unique_ptr<optim::EarlyStopping> early_stopping_;
  bool early_stopped_ = false;
  nlohmann::json best_eval_;  // the evaluation best.h5 holds (with early stopping)
  double last_lr_ = 0;        // the lr of the last step taken (group 0)
  double last_momentum_ = 0;  // its momentum, when the schedule cycles it
  double grad_norm_sum_ = 0;  // over the log window
  std::unique_ptr<Loader> loader_;
  Progress progress_;
  bool epoch_started_ = false;
  nlohmann::json last_eval_;
  nlohmann::json init_from_;  // the warm start's metrics.jsonl line, until train() writes it
  std::chrono::steady_clock::time_point started_;
};

}  // namespace heed
