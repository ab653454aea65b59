// Fashion-MNIST read as 28 rows of 28 pixels: the LSTM and the attention baseline of
// BENCHMARKS.md (rowlstm_fmnist, rowattn_fmnist), each a registered sequence_classifier.

#include "bench/bench.h"
#include "framework/random.h"
#include "framework/registry.h"

namespace heed::bench {

namespace {

void row_classifier(const Args& a, const nlohmann::json& model_recipe) {
  Generator gen(a.seed);
  const int64_t batch = 64;
  auto model = build_model(Config(model_recipe, "model"), DataInfo{{28, 28}, 10}, gen);
  std::vector<int64_t> labels(batch);
  for (auto& l : labels) l = static_cast<int64_t>(gen.below(10));
  const Batch b{Tensor::randn({batch, 28, 28}, gen), Tensor::from_vector_i64(labels, {batch})};
  train_steps(a, *model, b, batch, "images/s");
}

}  // namespace

void rowlstm_fmnist(const Args& a) {
  row_classifier(a, {{"type", "sequence_classifier"},
                     {"encoder", {{"type", "lstm"}, {"hidden_size", 128}}},
                     {"pooling", "last"}});
}

void rowattn_fmnist(const Args& a) {
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
}

}  // namespace heed::bench
