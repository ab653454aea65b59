// g2p_attn and g2p_noattn (BENCHMARKS.md): a grapheme-to-phoneme style sequence-to-sequence
// model's training step, pytorch_reference.py's g2p step for step: a bidirectional LSTM encoder,
// an LSTMCell decoder started from the encoder's final states (forward || backward), with or
// without additive attention (Bahdanau et al. 2015) on the previous decoder state, teacher
// forcing, cross-entropy over every target position; layers/models/seq2seq.h, built by the
// registry.

#include "bench/bench.h"
#include "framework/random.h"

namespace heed::bench {

namespace {

constexpr int64_t kBatch = 64, kSourceLen = 12, kTargetLen = 12, kSourceVocab = 30,
                  kTargetVocab = 45, kEmbedding = 64, kHidden = 128, kAttention = 128;

// Built by the registry as a recipe's "seq2seq" (layers/models/seq2seq.h): the decoder reads <s>
// and then target[:, :-1], and predicts target.
void g2p(const Args& a, bool attention) {
  Generator gen(a.seed);
  const std::shared_ptr<Model> model = registry_model(
      {{"type", "seq2seq"},
       {"encoder",
        {{"type", "lstm"},
         {"embedding_size", kEmbedding},
         {"hidden_size", kHidden},
         {"bidirectional", true}}},
       {"decoder",
        {{"type", "lstm"},
         {"embedding_size", kEmbedding},
         {"attention", attention ? nlohmann::json{{"type", "additive"}, {"hidden_size", kAttention}}
                                 : nlohmann::json("none")}}}},
      token_data_info(kSourceVocab, kTargetVocab, kSourceLen), gen);
  // Ids drawn as before the model moved to the registry (source in [0, vocab), target in
  // [1, vocab)); the source is not masked (no lengths), so its <pad> ids are ordinary tokens.
  std::vector<int64_t> source(kBatch * kSourceLen), target(kBatch * kTargetLen);
  for (auto& s : source) s = static_cast<int64_t>(gen.below(kSourceVocab));
  for (auto& t : target) t = 1 + static_cast<int64_t>(gen.below(kTargetVocab - 1));
  const Batch batch{Tensor::from_vector_i64(source, {kBatch, kSourceLen}),
                    Tensor::from_vector_i64(target, {kBatch, kTargetLen})};
  train_steps(a, *model, batch, kBatch, "sequences/s");
}

}  // namespace

void g2p_attn(const Args& a) {
  g2p(a, true);
}
void g2p_noattn(const Args& a) {
  g2p(a, false);
}

}  // namespace heed::bench
