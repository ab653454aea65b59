#pragma once
// Model: what a recipe trains. A model receives a whole batch and returns its loss and named
// metrics, so the trainer never knows whether it trains a classifier, a seq2seq model or a
// language model (ARCHITECTURE.md, "The flow of one training run").

#include <map>
#include <string>

#include "framework/data.h"
#include "framework/module.h"
#include "framework/search.h"

namespace heed {

/// One metric of one batch, as a sum over the items it counts (examples, real tokens) and their
/// count, so that a split's value is its total sum over its total count: a split is never
/// averaged batch by batch (a batch of 3 tokens would weigh as much as one of 300). `finish` maps
/// that mean to the value reported (perplexity = exp(mean cross-entropy)); null: the mean itself.
struct Metric {
  double sum = 0;
  double count = 0;
  double (*finish)(double mean) = nullptr;
  /// finish(sum / count); 0 when count is 0.
  double value() const {
    if (count == 0) return 0;
    return finish ? finish(sum / count) : sum / count;
  }
};

/// Adds a batch's metrics into running totals (sum to sum, count to count; a new name keeps its
/// finish), so that a total over batches is its sum over its count.
inline void add_metrics(std::map<std::string, Metric>& totals,
                        const std::map<std::string, Metric>& batch) {
  for (const auto& [name, m] : batch) {
    Metric& total = totals.try_emplace(name, Metric{0, 0, m.finish}).first->second;
    total.sum += m.sum;
    total.count += m.count;
  }
}

struct ModelOutput {
  Tensor loss;            // scalar, the mean over loss_count items
  double loss_count = 0;  // the examples (classifiers) or real tokens (token models) it averages
  std::map<std::string, Metric> metrics;  // e.g. {"accuracy", {91, 100}}
  /// log p(y_b | x_b) of each example [batch], no gradient: the reward of a layer that samples
  /// (framework/score_function.h). Undefined when the model does not report it.
  Tensor example_log_likelihood;
};

class Model : public Module {
 public:
  virtual ModelOutput forward(const Batch& batch) = 0;
};

/// A model that predicts the token after a sequence (a language model), which `heed generate`
/// samples from (framework/sampling.h).
class NextTokenModel {
 public:
  virtual ~NextTokenModel() = default;
  /// logits [batch, vocab] of the token after each row of `tokens` int64 [batch, len], in
  /// 1 <= len <= max_context().
  virtual Tensor next_token_logits(const Tensor& tokens) const = 0;
  /// The longest context it reads: the length of the windows it was trained on.
  virtual int64_t max_context() const = 0;
};

/// A model that carries state from one batch to the next: a recurrent language model over data
/// laid out as streams (DataInfo::carry_state), which starts row r of batch k + 1 from the final
/// state of row r of batch k, detached (truncated backpropagation through time; PyTorch's
/// examples/word_language_model, repackage_hidden). The trainer resets the state at every
/// epoch's start, sets it aside during an evaluation (which starts from zeros and carries its
/// own), and saves it in checkpoints (/carried_state), so a resumed run continues bit for bit.
class StateCarryingModel {
 public:
  virtual ~StateCarryingModel() = default;
  /// The state the next batch starts from, by name ("h_n", "c_n"), detached; empty when the next
  /// batch starts from zeros (a new epoch or evaluation).
  virtual StateDict carried_state() const = 0;
  /// Replaces it: empty resets it to zeros (whatever `batch`). Throws heed::Error naming the
  /// tensor unless `state` holds exactly the tensors the model carries, float32, for batches of
  /// `batch` rows.
  virtual void set_carried_state(const StateDict& state, int64_t batch) = 0;
};

/// A model that maps an input sequence to an output sequence by search (seq2seq): evaluation
/// decodes with it for error rates (framework/error_rates.h), and `heed predict` prints its output.
class SequenceTransducer {
 public:
  virtual ~SequenceTransducer() = default;
  /// The best output (target token ids, without </s>) for each row of batch.input (int64 [batch,
  /// source_len] with input_lengths), by greedy decoding (beam_size 1) or beam search
  /// (framework/search.h), without gradients; options.max_length 0 means 2 x source_len + 10.
  virtual std::vector<Hypothesis> decode(const Batch& batch,
                                         const SearchOptions& options) const = 0;
};

}  // namespace heed
