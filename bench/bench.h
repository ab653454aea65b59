#pragma once
// What every heed benchmark shares (protocol in ../shared/BENCHMARKS.md and bench/README.md):
// the command-line arguments, the timing loop and the one JSON line per measurement.

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "framework/model.h"
#include "framework/random.h"

namespace heed::bench {

struct Args {
  std::string workload;
  int threads = 1;
  int min_steps = 20, warmup = 3;
  double min_seconds = 5;
  uint64_t seed = 0;
};

/// Peak resident set size of this process so far (getrusage), in MB.
double peak_rss_mb();

/// Median milliseconds of `step` over at least a.min_steps calls and a.min_seconds seconds,
/// after a.warmup untimed calls.
double median_ms(const Args& a, const std::function<void()>& step);

/// Prints {"workload", "impl": "heed", "threads", "step_ms_median", "throughput", "unit",
/// "peak_rss_mb"} plus `extra`'s keys as one JSON line on stdout.
void print(const Args& a, double ms, double throughput, const std::string& unit,
           const nlohmann::json& extra = {});

/// Uniform random tokens [batch, seq + 1] in [1, vocab) from `gen` (no <pad>, so every position
/// counts in the loss, as in pytorch_reference.py), served as a language model's batch: input the
/// first seq tokens, target the next token at each position (both int64 [batch, seq]).
Batch language_model_batch(Generator& gen, int64_t vocab, int64_t batch, int64_t seq);

/// What a token model is built for (framework/data.h): token inputs of a vocabulary of
/// `input_vocab` ids (the 4 special tokens, then tokens "t4", "t5", ...), token targets of one of
/// `target_vocab` ids, inputs at most `max_len` long, fixed-size batches.
DataInfo token_data_info(int64_t input_vocab, int64_t target_vocab, int64_t max_len);

/// The model the registry builds from the JSON of a recipe's model section (layers/registry.cpp),
/// so that what is benchmarked is what a recipe trains.
std::shared_ptr<Model> registry_model(const nlohmann::json& model, const DataInfo& info,
                                      Generator& gen);

/// Times BENCHMARKS.md's training step (forward + loss + backward + Adam lr 1e-3 + zero_grad) of
/// `model` on the one fixed `batch`, and prints it with throughput = items_per_step per second.
void train_steps(const Args& a, Model& model, const Batch& batch, double items_per_step,
                 const std::string& unit);

// The workloads, one family per file.
void rowlstm_fmnist(const Args& a);  // rows.cpp
void rowattn_fmnist(const Args& a);  // rows.cpp
void matmul_peak(const Args& a);     // matmul.cpp
void cnn_fmnist(const Args& a);      // cnn.cpp
void lstm_lm(const Args& a);         // lstm_lm.cpp
void rnn_op(const Args& a);          // lstm_lm.cpp: rnn_layer_dnnl vs rnn_layer_fused
void lstm_lm_bf16(const Args& a);    // lstm_lm.cpp: float32 matmul precision highest vs medium
void transformer_lm(const Args& a);  // transformer_lm.cpp
void g2p_attn(const Args& a);        // g2p.cpp
void g2p_noattn(const Args& a);      // g2p.cpp

// attention_scaling.cpp: attention alone, forward + backward, seq 128..2048.
void sdpa_scaling(const Args& a);
void linear_attn_scaling(const Args& a);         // non-causal, as pytorch_reference.py
void causal_linear_attn_scaling(const Args& a);  // the fused causal op; heed only
void banded_attn_scaling(const Args& a);         // windowed attention on the band only; heed only

}  // namespace heed::bench
