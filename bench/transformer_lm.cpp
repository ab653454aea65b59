// transformer_lm (BENCHMARKS.md): a character-level causal Transformer language model's training
// step, pytorch_reference.py's transformer_lm layer for layer.

#include "bench/bench.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "layers/attention/scaled_dot_product.h"
#include "layers/embedding.h"
#include "layers/linear.h"
#include "layers/transformer.h"

namespace heed::bench {

namespace {

constexpr int64_t kVocab = 96, kDModel = 128, kHeads = 4, kLayers = 2, kFeedForward = 512,
                  kSeq = 128, kBatch = 32;

// Embedding(96, 128) + learned positions -> 2 pre-LN encoder layers under a causal mask ->
// Linear(128, 96), cross-entropy at every position. PyTorch's nn.TransformerEncoder(layer, 2) has
// no final LayerNorm, so neither has this one (final_norm false): the same parameters, one for one.
class TransformerLM : public Model {
 public:
  explicit TransformerLM(Generator& gen)
      : embedding_(
            register_module("embedding", std::make_shared<nn::Embedding>(kVocab, kDModel, gen))),
        positions_(register_module(
            "positions", std::make_shared<nn::LearnedPositionalEmbedding>(kSeq, kDModel, gen))),
        encoder_(register_module(
            "encoder", std::make_shared<nn::TransformerEncoder>(
                           nn::TransformerEncoderLayerOptions{.d_model = kDModel,
                                                              .nhead = kHeads,
                                                              .dim_feedforward = kFeedForward,
                                                              .dropout = 0.1f,
                                                              .activation = "relu",
                                                              .norm_first = true},
                           kLayers, /*final_norm=*/false, gen))),
        head_(register_module("head", std::make_shared<nn::Linear>(kDModel, kVocab, gen))),
        causal_(nn::causal_mask(kSeq, kSeq)) {}

  /// input, target int64 [batch, seq]: the tokens and the next tokens.
  ModelOutput forward(const Batch& batch) override {
    const Tensor x = positions_->forward(embedding_->forward(batch.input));
    const Tensor h = encoder_->forward(x, Tensor(), causal_);
    const Tensor logits = head_->forward(h).reshape({-1, kVocab});
    return {ops::cross_entropy(logits, batch.target.reshape({-1})), {}};
  }

  std::string repr() const override {
    return "TransformerLM(vocab=96, d_model=128, heads=4, layers=2, ff=512)";
  }

 private:
  std::shared_ptr<nn::Embedding> embedding_;
  std::shared_ptr<nn::LearnedPositionalEmbedding> positions_;
  std::shared_ptr<nn::TransformerEncoder> encoder_;
  std::shared_ptr<nn::Linear> head_;
  Tensor causal_;  // [seq, seq], 1 above the diagonal
};

}  // namespace

void transformer_lm(const Args& a) {
  Generator gen(a.seed);
  TransformerLM model(gen);
  train_steps(a, model, language_model_batch(gen, kVocab, kBatch, kSeq), kBatch * kSeq, "tokens/s");
}

}  // namespace heed::bench
