// heed's side of the benchmarks in ../shared/BENCHMARKS.md (see bench/README.md for the contract
// shared with bench/pytorch_reference.py):
//   heed_bench --workload rowlstm_fmnist|rowattn_fmnist|matmul_peak --threads N
//              [--min-steps 20 --min-seconds 5 --warmup 3 --seed 0]
// prints one JSON line per measurement on stdout.

#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "framework/ops.h"
#include "framework/random.h"
#include "framework/registry.h"
#include "optim/adam.h"

using namespace heed;

namespace {

struct Args {
  std::string workload;
  int threads = 1;
  int min_steps = 20, warmup = 3;
  double min_seconds = 5;
  uint64_t seed = 0;
};

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// Median milliseconds of `step` over at least min_steps calls and min_seconds.
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
           nlohmann::json extra = {}) {
  nlohmann::json line = {{"workload", a.workload},      {"impl", "heed"},
                         {"threads", a.threads},        {"step_ms_median", ms},
                         {"throughput", throughput},    {"unit", unit},
                         {"peak_rss_mb", peak_rss_mb()}};
  if (extra.is_object()) line.update(extra);
  std::cout << line.dump() << std::endl;
}

// A training step of a registered model on one fixed random batch of Fashion-MNIST rows.
void row_classifier(const Args& a, const nlohmann::json& model_recipe) {
  Generator gen(a.seed);
  const int64_t batch = 64;
  const DataInfo info{{28, 28}, 10};
  auto model = build_model(Config(model_recipe, "model"), info, gen);
  optim::Adam adam(model->named_parameters(), {.lr = 1e-3});
  std::vector<int64_t> labels(batch);
  for (auto& l : labels) l = static_cast<int64_t>(gen.below(10));
  const Batch b{Tensor::randn({batch, 28, 28}, gen), Tensor::from_vector_i64(labels, {batch})};
  const double ms = median_ms(a, [&] {
    model->forward(b).loss.backward();
    adam.step();
    adam.zero_grad();
  });
  print(a, ms, batch * 1000.0 / ms, "images/s");
}

void matmul_peak(const Args& a) {
  Generator gen(a.seed);
  for (int64_t n : {1024, 2048}) {
    const Tensor x = Tensor::randn({n, n}, gen), y = Tensor::randn({n, n}, gen);
    const double ms = median_ms(a, [&] { ops::matmul(x, y); });
    const double gflops = 2.0 * n * n * n / (ms * 1e6);
    print(a, ms, gflops, "GFLOP/s",
          {{"n", n}, {"pct_of_peak", 100.0 * gflops / (128.0 * a.threads)}});
  }
}

const std::map<std::string, std::function<void(const Args&)>>& workloads() {
  static const std::map<std::string, std::function<void(const Args&)>> all = {
      {"rowlstm_fmnist",
       [](const Args& a) {
         row_classifier(a, {{"type", "sequence_classifier"},
                            {"encoder", {{"type", "lstm"}, {"hidden_size", 128}}},
                            {"pooling", "last"}});
       }},
      {"rowattn_fmnist",
       [](const Args& a) {
         row_classifier(a, {{"type", "sequence_classifier"},
                            {"encoder",
                             {{"type", "transformer"},
                              {"d_model", 64},
                              {"nhead", 4},
                              {"num_layers", 2},
                              {"dim_feedforward", 128},
                              {"dropout", 0.1},
                              {"activation", "relu"},
                              {"norm_first", true}}},
                            {"pooling", "mean"}});
       }},
      {"matmul_peak", matmul_peak},
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
