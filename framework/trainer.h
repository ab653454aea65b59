#pragma once
// Trainer: runs a resolved recipe (ARCHITECTURE.md, "The flow of one training run").
//
// For each batch: model.forward(batch) -> {loss, metrics}; loss.backward(); optimizer.step();
// zero_grad. Every train.log_interval steps it appends the window's mean loss, metrics, learning
// rate, samples/s and elapsed seconds to metrics.jsonl (framework/train_log.h); it evaluates on
// the dev split every train.eval_interval steps (0: at each epoch's end). Model selection
// (reduce-on-plateau, early stopping, best.h5) reads dev only; the test split is evaluated once,
// when the run finishes, on the checkpoint train.test_checkpoint names ("last", or "best" with
// early stopping), and summary.json holds both final evaluations by split.
//
// Checkpoints (checkpoints/last.h5) are written at each epoch's end, every
// train.checkpoint_every_steps steps and every train.checkpoint_every_seconds seconds, at the
// end and when a stop is requested (SIGINT/SIGTERM, framework/signals.h: the current step
// finishes first). A checkpoint holds everything the run's future depends on: parameters,
// optimizer state, the random stream, the data order and position, whether the epoch's order
// was drawn, the schedule, plateau and early-stopping state, the log window's sums, the size
// of metrics.jsonl and, with data.carry_state, the recurrent state the model carries into its
// next batch. So a run resumed from it (`heed train --resume RUN_DIR`), whether it was
// stopped or killed at any instant, ends with the same parameters, bit for bit, and the same
// metrics.jsonl lines as an uninterrupted run (tests/framework/test_interrupts.cpp).
//
// Between backward and optimizer step it clips the gradients (train.clip_grad_value, then
// train.clip_grad_norm) and logs the global gradient norm before norm clipping ("grad_norm");
// after the step it advances the learning-rate schedule (recipe "schedule", docs/optim.md).
// After each evaluation it feeds reduce_on_plateau and early stopping; with early stopping, the
// best evaluation's checkpoint is kept as checkpoints/best.h5.
//
// With data.carry_state (data laid out as one stream per batch row, datasets/text.h) the train
// order is not shuffled, and the model's carried state (framework/model.h, StateCarryingModel)
// is reset at each epoch's start and set aside during evaluations, which carry their own from
// zeros over dev and test cut into train.eval_batch_size streams.
//
// Data parallel (docs/distributed.md): under `mpirun -np N` (framework/communicator.h), or with
// train.micro_batches > 1 on one process, each step's global batch is cut into micro-batches
// that the ranks share (framework/data_parallel.h), and every decision that ends a loop (a stop
// request, the wall-clock budget) is one the ranks agreed on at the last step. The ranks share
// each evaluation's batches and rank 0 adds their totals in batch order (one process's result,
// bit for bit) and gives every rank the result; rank 0 alone writes metrics.jsonl, checkpoints and
// summary.json; every rank reads the checkpoint it resumes from (and best.h5 for the test).
//
// With train.weight_average (framework/weight_average.h) an average of the parameters is updated
// after every step past its start_step; dev and test evaluations (and so model selection and
// best.h5) judge the average, swapped in for the evaluation and out after it, and checkpoints
// hold it beside the parameters the optimizer continues from (/averaged_model), which heed eval,
// predict and generate then read.
//
// A non-finite loss or gradient stops the run (train.on_nonfinite "stop"): summary.json says
// status "diverged" with the step and the tensor, the last checkpoint (all finite) is kept, and
// train() throws heed::Error. With "skip", such a step changes no parameter and is counted.

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "framework/checkpoint.h"
#include "framework/communicator.h"
#include "framework/data_parallel.h"
#include "framework/dynamic_evaluation.h"
#include "framework/erasure.h"
#include "framework/loader.h"
#include "framework/random.h"
#include "framework/registry.h"
#include "framework/train_log.h"
#include "framework/weight_average.h"

namespace heed {

class ProgressLine;

/// The recipe's "train" section; docs/recipes.md documents each key.
struct TrainOptions {
  int64_t epochs = 1;
  int64_t max_steps = 0;   // stop after this many optimizer steps in all (0: no limit)
  double max_seconds = 0;  // stop once the run has trained this long, in seconds (0: no limit)
  int64_t batch_size = 64;
  int64_t eval_batch_size = 256;
  uint64_t seed = 0;
  /// train.seeds: a seed for each source of randomness apart, each defaulting to train.seed.
  /// Without it one generator serves all three, as before it existed.
  struct Seeds {
    uint64_t init = 0, data = 0, dropout = 0;
  };
  std::optional<Seeds> seeds;
  int64_t threads = 0;  // 0: OMP_NUM_THREADS, else every core
  /// "highest" | "medium": PyTorch's float32 matmul precision (framework/precision.h).
  std::string float32_matmul_precision = "highest";
  int64_t log_interval = 50;
  int64_t eval_interval = 0;
  int64_t checkpoint_every_steps = 0;     // 0: only at epoch ends (and at the end, on a stop)
  double checkpoint_every_seconds = 600;  // seconds since the last checkpoint; 0: off
  int64_t keep_checkpoints = 1;           // > 1: also checkpoints/step_<N>.h5, the newest K kept
  std::string on_nonfinite = "stop";      // "stop" | "skip" a step with a non-finite loss/gradient
  std::string test_checkpoint;            // "last" | "best": what the test evaluation reads
  double clip_grad_norm = 0;              // max global norm (0: no norm clipping)
  double clip_grad_norm_type = 2;         // p of the norm, or infinity ("inf" in a recipe)
  double clip_grad_value = 0;             // max |gradient element| (0: no value clipping)
  int64_t micro_batches = 0;  // parts of each batch, shared by the ranks (0: one per rank)
  bool deterministic_reduction = false;  // sum the parts' gradients in part order (bit-exact)
  bool sync_batch_norm = false;  // batch norms take the global batch's statistics over the ranks
  bool attention_statistics = true;  // evaluations log each attention layer's entropy, max weight
  /// train.weight_average: evaluate an average of the weights (framework/weight_average.h).
  std::optional<WeightAverageOptions> weight_average;
  SearchOptions decode;  // how evaluation decodes a SequenceTransducer: beam_size, length_penalty
  static TrainOptions from_config(const Config& config);
};

class Trainer {
 public:
  /// Builds data, model and optimizer from a resolved recipe; throws heed::Error on any bad key.
  Trainer(const nlohmann::json& recipe, const std::string& run_dir);
  ~Trainer();

  /// The model tree, its parameter count and the optimizer, as `--dry-run` prints them.
  std::string describe() const;
  /// Restores everything a resumed run continues from (model, optimizer, generator, progress,
  /// schedule, log window); train() then cuts metrics.jsonl back to the checkpoint's size.
  /// Throws heed::Error naming the file when it is not a checkpoint of this recipe's run.
  void restore(const std::string& checkpoint_path);
  /// Loads only the model's weights, for evaluation and inspection: the averaged ones
  /// (/averaged_model) when the checkpoint holds them.
  void load_weights(const std::string& checkpoint_path);
  /// Trains to the end of the recipe (or a stop request); returns summary.json's content. Throws
  /// heed::Error when the run diverges (after writing summary.json) or a file cannot be written.
  nlohmann::json train();
  /// Mean loss and metrics over a split ("train", "dev" or "test"), in eval mode without
  /// gradients; for a SequenceTransducer (seq2seq) also "per" and "wer" of its decoded outputs
  /// (framework/error_rates.h), decoded as `decode` says (default: the recipe's train.beam_size
  /// and train.length_penalty). Throws heed::Error for another split, or "dev" when the data has
  /// none.
  nlohmann::json evaluate(const std::string& split);
  nlohmann::json evaluate(const std::string& split, const SearchOptions& decode);
  /// The dynamic evaluation of a split (framework/dynamic_evaluation.h), read in its
  /// train.eval_batch_size streams from a zero carried state: its loss and metrics as evaluate()
  /// gives them, and "dynamic": {"lr", "decay"}. The parameters are the trained ones again
  /// afterwards. Throws heed::Error for an option out of range, a model that is no language
  /// model, several ranks, or a split as evaluate() does.
  nlohmann::json evaluate_dynamic(const std::string& split,
                                  const DynamicEvaluationOptions& options);
  const TrainOptions& options() const { return options_; }
  /// `heed inspect`: examples `indices` of a split through the model with an Inspector, written
  /// to `path` with the checkpoint's name for provenance (framework/inspect.h, docs/inspect.md).
  nlohmann::json inspect(const std::string& split, const std::vector<int64_t>& indices,
                         const std::string& path, const std::string& checkpoint);
  /// The erasure test of attention's faithfulness on a split's first examples
  /// (framework/erasure.h); throws heed::Error as erasure_test() does.
  nlohmann::json erasure(const std::string& split, const ErasureOptions& options);
  /// The model, and what it knows of its data (vocabularies), for `heed generate`.
  Model& model() { return *model_; }
  const DataInfo& data_info() const { return data_.info; }

 private:
  /// The dataset of "train", "dev" or "test"; throws heed::Error naming the valid splits
  /// otherwise.
  const std::shared_ptr<Dataset>& split_data(const std::string& split) const;
  /// The batch size an evaluation of `split` reads it in: train.eval_batch_size, or for "train"
  /// laid out as streams (data.carry_state) the train.batch_size it was cut for.
  int64_t eval_batch_size(const std::string& split) const;
  /// parallel_, with several ranks or micro-batches; throws heed::RecipeError for a
  /// train.micro_batches the ranks cannot share or a recipe they cannot run.
  void build_data_parallel(const Config& train);
  /// The model's carried state back to zeros (data.carry_state), or nothing.
  void reset_carried_state();
  /// A checkpoint's /carried_state into the model; throws heed::Error naming the group when it
  /// is missing with data.carry_state, present without, or not the model's (names, shapes).
  void restore_carried_state(const std::optional<StateDict>& state);
  /// The weight average's count (train state "weight_average") and tensors (/averaged_model);
  /// throws heed::Error when they do not match the recipe and the model.
  void restore_average(const nlohmann::json& train_state, const std::optional<StateDict>& averaged);
  /// One optimizer step on the examples `indices` of the train split, its loss and metrics into
  /// the log window.
  void train_step(const std::vector<int64_t>& indices);
  /// The forward and backward passes of a step on one process, in one batch: its loss (the
  /// model's, without a surrogate) and metrics; the gradients are left on the parameters.
  ParallelStep local_step(const std::vector<int64_t>& indices);
  /// A stop request, as the ranks agreed on it at the last step (one rank: as it is now).
  bool stop_agreed() const;
  /// The run's elapsed time that its budget reads: the ranks' agreed one with several.
  int64_t budget_elapsed_ms() const;
  /// The dev or test evaluation of `split`: rank 0's, on every rank.
  nlohmann::json evaluate_on_root(const std::string& split);
  /// Skips the step about to be taken (on_nonfinite "skip") or throws that the run diverged.
  void skip_or_stop(const std::string& what, bool parameters_finite, double seconds);
  /// Feeds an evaluation to the schedule and early stopping; true when the run should stop.
  bool after_evaluation(const nlohmann::json& eval);
  /// The closing evaluation of a run whose budget ended between evaluations: best.h5 if it is
  /// the best so far, while the schedule and early stopping's counters never see it.
  void after_closing_evaluation(const nlohmann::json& eval);
  nlohmann::json logged_evaluation(const std::string& split, const nlohmann::json& fields,
                                   ProgressLine& bar);
  /// Evaluates the dev split and logs it (metrics.jsonl, the progress line); null without one.
  nlohmann::json run_evaluation(ProgressLine& bar);
  /// The run's one test evaluation, on the checkpoint test_checkpoint names, logged.
  nlohmann::json run_test(ProgressLine& bar);
  void end_epoch(ProgressLine& bar);
  nlohmann::json train_state() const;
  void log_window();
  void save(const std::string& file = "last.h5");
  /// Writes last.h5 and, with keep_checkpoints > 1, step_<N>.h5, dropping the oldest.
  void save_last();
  bool checkpoint_due() const;
  nlohmann::json summary(const std::string& status) const;
  void write_summary(const nlohmann::json& summary) const;
  int64_t elapsed_ms() const;
  bool finished() const;
  int64_t total_steps() const;
  /// The share of the run's budget behind it, in [0, 1]: its steps of total_steps() or its
  /// seconds of train.max_seconds, whichever is further along (early stopping may end it sooner).
  double budget_done() const;

  nlohmann::json recipe_;
  std::string run_dir_;
  TrainOptions options_;
  Generator gen_;       // initialization and dropout (and the data order without train.seeds)
  Generator data_gen_;  // the data order, with train.seeds
  Generator* order_gen_ = &gen_;  // the one the loader draws each epoch's order from
  DataSplits data_;
  std::shared_ptr<Model> model_;
  StateCarryingModel* carrier_ = nullptr;  // the model, with data.carry_state
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<LRScheduler> scheduler_;
  std::unique_ptr<EarlyStopping> early_stopping_;
  std::unique_ptr<WeightAverage> average_;  // with train.weight_average
  bool early_stopped_ = false;
  nlohmann::json best_eval_;   // the evaluation best.h5 holds (with early stopping)
  double last_lr_ = 0;         // the lr of the last step taken (group 0)
  double last_momentum_ = 0;   // its momentum, when the schedule cycles it
  int64_t skipped_steps_ = 0;  // steps skipped for a non-finite loss or gradient, in all
  std::unique_ptr<Loader> loader_;
  const Communicator& comm_;
  bool writer_;                             // this process writes the run directory (rank 0)
  std::unique_ptr<DataParallel> parallel_;  // with several ranks or micro-batches
  bool agreed_stop_ = false;                // what the ranks agreed at the last step
  int64_t agreed_elapsed_ms_ = 0;
  double communication_s_ = 0;  // rank 0's waits on the other ranks, this session (seconds)
  std::vector<double> waited_s_by_rank_;  // every rank's, to the step before the last
  Progress progress_;
  bool restored_ = false;
  int64_t last_saved_step_ = -1;  // the step of the newest last.h5 (-1: none yet)
  TrainLog log_;
  nlohmann::json last_eval_;  // the last dev evaluation
  nlohmann::json test_eval_;  // the test evaluation at the end
  nlohmann::json init_from_;  // the warm start's metrics.jsonl line, until train() writes it
  std::chrono::steady_clock::time_point started_, last_save_;
};

}  // namespace heed
