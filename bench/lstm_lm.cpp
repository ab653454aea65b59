// lstm_lm (BENCHMARKS.md): a character-level LSTM language model's training step, and rnn_op: one
// recurrent layer (forward + backward) of lstm_lm's shapes through each implementation of
// ops::rnn_layer, oneDNN's primitives (rnn_layer_dnnl) against the fused-gate fallback
// (rnn_layer_fused), the measurement that decides rnn_layer's dispatch.

#include <algorithm>
#include <cmath>

#include "bench/bench.h"
#include "framework/ops.h"
#include "framework/ops/rnn.h"
#include "framework/random.h"

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

}  // namespace heed::bench
