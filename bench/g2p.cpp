// g2p_attn and g2p_noattn (BENCHMARKS.md): a grapheme-to-phoneme style sequence-to-sequence
// model's training step, pytorch_reference.py's g2p step for step: a bidirectional LSTM encoder,
// an LSTMCell decoder started from the encoder's final states (forward || backward), with or
// without additive attention (Bahdanau et al. 2015) on the previous decoder state, teacher
// forcing, cross-entropy over every target position.

#include "bench/bench.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "layers/attention/additive.h"
#include "layers/embedding.h"
#include "layers/linear.h"
#include "layers/rnn.h"
#include "layers/rnn_cell.h"

namespace heed::bench {

namespace {

constexpr int64_t kBatch = 64, kSourceLen = 12, kTargetLen = 12, kSourceVocab = 30,
                  kTargetVocab = 45, kEmbedding = 64, kHidden = 128, kAttention = 128;
constexpr int64_t kDecoderHidden = 2 * kHidden;  // the encoder's two directions side by side

class G2P : public Model {
 public:
  G2P(bool attention, Generator& gen)
      : source_embedding_(register_module(
            "source_embedding", std::make_shared<nn::Embedding>(kSourceVocab, kEmbedding, gen))),
        target_embedding_(register_module(
            "target_embedding", std::make_shared<nn::Embedding>(kTargetVocab, kEmbedding, gen))),
        encoder_(register_module(
            "encoder", std::make_shared<nn::LSTM>(nn::LSTMOptions{.input_size = kEmbedding,
                                                                  .hidden_size = kHidden,
                                                                  .bidirectional = true},
                                                  gen))),
        decoder_(register_module(
            "decoder", std::make_shared<nn::LSTMCell>(
                           nn::RNNCellOptions{
                               .input_size = attention ? kEmbedding + kDecoderHidden : kEmbedding,
                               .hidden_size = kDecoderHidden},
                           gen))),
        head_(register_module("head",
                              std::make_shared<nn::Linear>(kDecoderHidden, kTargetVocab, gen))) {
    if (attention)
      attention_ =
          register_module("attention", std::make_shared<nn::AdditiveAttention>(
                                           kDecoderHidden, kDecoderHidden, kAttention, 0.f, gen));
  }

  /// input int64 [batch, source_len]; target int64 [batch, target_len + 1], BOS (0) first: the
  /// decoder reads target[:, :-1] and predicts target[:, 1:].
  ModelOutput forward(const Batch& batch) override {
    const nn::LSTMOutput enc = encoder_->forward(source_embedding_->forward(batch.input));
    // [batch, source_len, 2 * hidden]. The LSTM's batch-first output is a transposed view of its
    // time-major result; the attention's matmul would copy it to contiguous at every step and in
    // every step's backward, so it is made contiguous once here.
    const Tensor memory = attention_ ? enc.output.contiguous() : enc.output;
    nn::LSTMState s{ops::concat({enc.h_n.select(0, 0), enc.h_n.select(0, 1)}, 1),
                    ops::concat({enc.c_n.select(0, 0), enc.c_n.select(0, 1)}, 1)};
    // U k_j, once per batch as pytorch_reference.py's wk(mem): it does not change over the steps.
    const Tensor keys = attention_ ? attention_->project_keys(memory) : Tensor();
    const Tensor inputs = target_embedding_->forward(batch.target.narrow(1, 0, kTargetLen));
    std::vector<Tensor> outputs;
    for (int64_t t = 0; t < kTargetLen; ++t) {
      Tensor x = inputs.select(1, t);  // [batch, embedding]
      if (attention_) {
        const Tensor context =
            attention_->forward_projected(s.h.unsqueeze(1), keys, memory).output.squeeze(1);
        x = ops::concat({x, context}, 1);
      }
      s = decoder_->forward(x, s.h, s.c);
      outputs.push_back(s.h);
    }
    const Tensor logits = head_->forward(ops::stack(outputs, 1)).reshape({-1, kTargetVocab});
    const Tensor labels = batch.target.narrow(1, 1, kTargetLen).reshape({-1});
    return {ops::cross_entropy(logits, labels), {}};
  }

  std::string repr() const override {
    return std::string("G2P(bilstm=2x128, decoder=LSTMCell(256), attention=") +
           (attention_ ? "additive" : "none") + ")";
  }

 private:
  std::shared_ptr<nn::Embedding> source_embedding_, target_embedding_;
  std::shared_ptr<nn::LSTM> encoder_;
  std::shared_ptr<nn::LSTMCell> decoder_;
  std::shared_ptr<nn::Linear> head_;
  std::shared_ptr<nn::AdditiveAttention> attention_;  // null in g2p_noattn
};

void g2p(const Args& a, bool attention) {
  Generator gen(a.seed);
  G2P model(attention, gen);
  std::vector<int64_t> source(kBatch * kSourceLen), target(kBatch * (kTargetLen + 1));
  for (auto& s : source) s = static_cast<int64_t>(gen.below(kSourceVocab));
  for (size_t i = 0; i < target.size(); ++i)  // BOS = 0 first, then ids 1..vocab-1
    target[i] =
        i % (kTargetLen + 1) == 0 ? 0 : 1 + static_cast<int64_t>(gen.below(kTargetVocab - 1));
  const Batch batch{Tensor::from_vector_i64(source, {kBatch, kSourceLen}),
                    Tensor::from_vector_i64(target, {kBatch, kTargetLen + 1})};
  train_steps(a, model, batch, kBatch, "sequences/s");
}

}  // namespace

void g2p_attn(const Args& a) {
  g2p(a, true);
}
void g2p_noattn(const Args& a) {
  g2p(a, false);
}

}  // namespace heed::bench
