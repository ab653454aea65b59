// heed's side of the benchmarks in ../shared/BENCHMARKS.md (see bench/README.md for the contract
// shared with bench/pytorch_reference.py):
//   heed_bench --workload W --threads N [--min-steps 20 --min-seconds 5 --warmup 3 --seed 0]
// prints one JSON line per measurement on stdout. Each workload family lives in its own file.

#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>

#include "bench/bench.h"
#include "framework/config.h"
#include "framework/registry.h"
#include "optim/adam.h"

namespace heed::bench {

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

double median_ms(const Args& a, const std::function<void()>& step) {
  for (int i = 0; i < a.warmup; ++i) step();
  std::vector<double> ms;
  const auto start = std::chrono::steady_clock::now();
  while (static_cast<int>(ms.size()) < a.min_steps ||
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
             a.min_seconds) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

void print(const Args& a, double ms, double throughput, const std::string& unit,
           const nlohmann::json& extra) {
  nlohmann::json line = {{"workload", a.workload},      {"impl", "heed"},
                         {"threads", a.threads},        {"step_ms_median", ms},
                         {"throughput", throughput},    {"unit", unit},
                         {"peak_rss_mb", peak_rss_mb()}};
  if (extra.is_object()) line.update(extra);
  std::cout << line.dump() << std::endl;
}

Batch language_model_batch(Generator& gen, int64_t vocab, int64_t batch, int64_t seq) {
  std::vector<int64_t> tokens(batch * (seq + 1));
  for (auto& t : tokens) t = 1 + static_cast<int64_t>(gen.below(vocab - 1));
  const Tensor all = Tensor::from_vector_i64(tokens, {batch, seq + 1});
  return {all.narrow(1, 0, seq).contiguous(), all.narrow(1, 1, seq).contiguous()};
}

namespace {
Vocabulary bench_vocabulary(int64_t size) {
  std::vector<std::string> tokens;
  for (int64_t id = Vocabulary::kNumSpecial; id < size; ++id)
    tokens.push_back(std::string(1, 't').append(std::to_string(id)));
  return Vocabulary(tokens);
}
}  // namespace

DataInfo token_data_info(int64_t input_vocab, int64_t target_vocab, int64_t max_len) {
  DataInfo info{{max_len}, target_vocab, InputKind::Tokens, TargetKind::Tokens};
  info.input_vocab = bench_vocabulary(input_vocab);
  info.target_vocab = bench_vocabulary(target_vocab);
  return info;
}

std::shared_ptr<Model> registry_model(const nlohmann::json& model, const DataInfo& info,
                                      Generator& gen) {
  return build_model(Config(model, "model"), info, gen);
}

void train_steps(const Args& a, Model& model, const Batch& batch, double items_per_step,
                 const std::string& unit) {
  optim::Adam adam(model.named_parameters(), {.lr = 1e-3});
  const double ms = median_ms(a, [&] {
    model.forward(batch).loss.backward();
    adam.step();
    adam.zero_grad();
  });
  int64_t parameters = 0;
  for (const auto& [name, p] : model.named_parameters()) parameters += p.numel();
  print(a, ms, items_per_step * 1000.0 / ms, unit, {{"parameters", parameters}});
}

}  // namespace heed::bench

namespace {

using heed::bench::Args;

const std::map<std::string, void (*)(const Args&)>& workloads() {
  static const std::map<std::string, void (*)(const Args&)> all = {
      {"rowlstm_fmnist", heed::bench::rowlstm_fmnist},
      {"rowattn_fmnist", heed::bench::rowattn_fmnist},
      {"matmul_peak", heed::bench::matmul_peak},
      {"cnn_fmnist", heed::bench::cnn_fmnist},
      {"lstm_lm", heed::bench::lstm_lm},
      {"rnn_op", heed::bench::rnn_op},
      {"lstm_lm_bf16", heed::bench::lstm_lm_bf16},
      {"transformer_lm", heed::bench::transformer_lm},
      {"g2p_attn", heed::bench::g2p_attn},
      {"g2p_noattn", heed::bench::g2p_noattn},
      {"sdpa_scaling", heed::bench::sdpa_scaling},
      {"linear_attn_scaling", heed::bench::linear_attn_scaling},
      {"causal_linear_attn_scaling", heed::bench::causal_linear_attn_scaling},
      {"banded_attn_scaling", heed::bench::banded_attn_scaling},
  };
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--workload")
      a.workload = value;
    else if (flag == "--threads")
      a.threads = std::stoi(value);
    else if (flag == "--min-steps")
      a.min_steps = std::stoi(value);
    else if (flag == "--min-seconds")
      a.min_seconds = std::stod(value);
    else if (flag == "--warmup")
      a.warmup = std::stoi(value);
    else if (flag == "--seed")
      a.seed = std::stoull(value);
    else {
      std::cerr << "heed_bench: unknown flag " << flag << "\n";
      return 2;
    }
  }
  const auto it = workloads().find(a.workload);
  if (it == workloads().end()) {
    std::cerr << "heed_bench: unknown workload \"" << a.workload << "\" (have:";
    for (const auto& [name, fn] : workloads()) std::cerr << " " << name;
    std::cerr << ")\n";
    return 2;
  }
  omp_set_num_threads(a.threads);
  try {
    it->second(a);
  } catch (const std::exception& e) {
    std::cerr << "heed_bench: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
