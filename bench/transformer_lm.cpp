// transformer_lm (BENCHMARKS.md): a character-level causal Transformer language model's training
// step, pytorch_reference.py's transformer_lm layer for layer.

#include "bench/bench.h"
#include "framework/random.h"

namespace heed::bench {

namespace {

constexpr int64_t kVocab = 96, kDModel = 128, kHeads = 4, kLayers = 2, kFeedForward = 512,
                  kSeq = 128, kBatch = 32;

}  // namespace

// Embedding(96, 128) + learned positions -> 2 pre-LN encoder layers under a causal mask ->
// Linear(128, 96), cross-entropy at every position, built by the registry as a recipe's
// "language_model". PyTorch's nn.TransformerEncoder(layer, 2) has no final LayerNorm, so neither
// has this one (final_norm false): the same parameters, one for one.
void transformer_lm(const Args& a) {
  Generator gen(a.seed);
  const std::shared_ptr<Model> model = registry_model({{"type", "language_model"},
                                                       {"encoder",
                                                        {{"type", "transformer"},
                                                         {"d_model", kDModel},
                                                         {"nhead", kHeads},
                                                         {"num_layers", kLayers},
                                                         {"dim_feedforward", kFeedForward},
                                                         {"dropout", 0.1},
                                                         {"activation", "relu"},
                                                         {"norm_first", true},
                                                         {"final_norm", false},
                                                         {"positional", "learned"}}}},
                                                      token_data_info(kVocab, kVocab, kSeq), gen);
  train_steps(a, *model, language_model_batch(gen, kVocab, kBatch, kSeq), kBatch * kSeq,
              "tokens/s");
}

}  // namespace heed::bench
