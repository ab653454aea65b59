// lstm_lm (BENCHMARKS.md): a character-level LSTM language model's training step, and rnn_op: one
// recurrent layer (forward + backward) of lstm_lm's shapes through each implementation of
// ops::rnn_layer, oneDNN's primitives (rnn_layer_dnnl) against the fused-gate fallback
// (rnn_layer_fused), the measurement that decides rnn_layer's dispatch; and lstm_lm_bf16: the
// training step of lstm_lm and of recipes/text/lstm_2layer.json's model at float32 matmul
// precision "highest" against "medium" (bfloat16 LSTM primitives, framework/precision.h).

#include <algorithm>
#include <cmath>

#include "bench/bench.h"
#include "framework/ops.h"
#include "framework/ops/rnn.h"
#include "framework/precision.h"
#include "framework/random.h"
#include "optim/adam.h"

namespace heed::bench {

namespace {

constexpr int64_t kVocab = 96, kEmbedding = 128, kHidden = 256, kSeq = 128, kBatch = 32;

}  // namespace

// Embedding(96, 128) -> 2-layer LSTM(128, 256) -> Linear(256, 96), cross-entropy at every
// position; pytorch_reference.py's lstm_lm, built by the registry as a recipe's "language_model".
void lstm_lm(const Args& a) {
  Generator gen(a.seed);
  const std::shared_ptr<Model> model =
      registry_model({{"type", "language_model"},
                      {"embedding_size", kEmbedding},
                      {"encoder", {{"type", "lstm"}, {"hidden_size", kHidden}, {"num_layers", 2}}}},
                     token_data_info(kVocab, kVocab, kSeq), gen);
  train_steps(a, *model, language_model_batch(gen, kVocab, kBatch, kSeq), kBatch * kSeq,
              "tokens/s");
}

void rnn_op(const Args& a) {
  using ops::RNNMode;
  Generator gen(a.seed);
  const std::pair<RNNMode, const char*> modes[] = {
      {RNNMode::LSTM, "lstm"}, {RNNMode::GRU, "gru"}, {RNNMode::RNN_TANH, "rnn_tanh"}};
  for (const auto& [mode, mode_name] : modes)
    for (const int64_t input : {kEmbedding, kHidden}) {
      const int64_t rows = ops::rnn_gates(mode) * kHidden;
      const float scale = 1.f / std::sqrt(static_cast<float>(kHidden));
      const Tensor x = Tensor::randn({kSeq, kBatch, input}, gen);
      const Tensor w_ih = Tensor::rand({rows, input}, gen, -scale, scale);
      const Tensor w_hh = Tensor::rand({rows, kHidden}, gen, -scale, scale);
      const Tensor b_ih = Tensor::rand({rows}, gen, -scale, scale);
      const Tensor b_hh = Tensor::rand({rows}, gen, -scale, scale);
      const Tensor g = Tensor::randn({kSeq + 2, kBatch, kHidden}, gen);
      auto step = [&](bool dnnl) {
        // Fresh leaves each step, so no step pays for accumulating into the last one's grads.
        std::vector<Tensor> l;
        for (const Tensor* t : {&x, &w_ih, &w_hh, &b_ih, &b_hh})
          l.push_back(t->detach().requires_grad_());
        const Tensor out = dnnl ? ops::rnn_layer_dnnl(mode, l[0], Tensor(), Tensor(), l[1], l[2],
                                                      l[3], l[4], false)
                                : ops::rnn_layer_fused(mode, l[0], Tensor(), Tensor(), l[1], l[2],
                                                       l[3], l[4], Tensor(), false);
        out.backward(g);
      };
      // The two paths take turns, three rounds each, and each keeps its best median: on a shared
      // machine a burst of load then hits both rather than whichever ran at the time.
      double best[2] = {1e300, 1e300};
      for (int round = 0; round < 3; ++round)
        for (int path = 0; path < 2; ++path)
          best[path] = std::min(best[path], median_ms(a, [&] { step(path == 0); }));
      for (int path = 0; path < 2; ++path)
        print(a, best[path], kSeq * kBatch * 1000.0 / best[path], "tokens/s",
              {{"mode", mode_name},
               {"path", path == 0 ? "dnnl" : "fused"},
               {"input_size", input},
               {"rounds", 3}});
    }
}

void lstm_lm_bf16(const Args& a) {
  struct Shape {
    const char* name;
    int64_t embedding, hidden, batch;
  };
  // BENCHMARKS.md's lstm_lm, and the hour's text recipe (embedding 64, 2 x 512, 64 windows).
  for (const Shape& s : {Shape{"lstm_lm", kEmbedding, kHidden, kBatch},
                         Shape{"recipes/text/lstm_2layer.json", 64, 512, 64}}) {
    Generator gen(a.seed);
    const std::shared_ptr<Model> model = registry_model(
        {{"type", "language_model"},
         {"embedding_size", s.embedding},
         {"encoder", {{"type", "lstm"}, {"hidden_size", s.hidden}, {"num_layers", 2}}}},
        token_data_info(kVocab, kVocab, kSeq), gen);
    const Batch batch = language_model_batch(gen, kVocab, s.batch, kSeq);
    optim::Adam adam(model->named_parameters(), {.lr = 1e-3});
    // The two precisions take turns, three rounds each, each keeping its best median.
    double best[2] = {1e300, 1e300};
    for (int round = 0; round < 3; ++round)
      for (int medium = 0; medium < 2; ++medium) {
        set_float32_matmul_precision(medium ? MatmulPrecision::Medium : MatmulPrecision::Highest);
        best[medium] = std::min(best[medium], median_ms(a, [&] {
                                  model->forward(batch).loss.backward();
                                  adam.step();
                                  adam.zero_grad();
                                }));
      }
    const bool bfloat16 = rnn_uses_bfloat16();  // medium was set last
    set_float32_matmul_precision(MatmulPrecision::Highest);
    for (int medium = 0; medium < 2; ++medium)
      print(a, best[medium], static_cast<double>(s.batch * kSeq) * 1000.0 / best[medium],
            "tokens/s",
            {{"model", s.name},
             {"float32_matmul_precision", medium ? "medium" : "highest"},
             {"bfloat16", medium && bfloat16},
             {"speedup", medium ? best[0] / best[1] : 1.0},
             {"rounds", 3}});
  }
}

}  // namespace heed::bench
