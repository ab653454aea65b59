#pragma once
// SequenceClassifier: a sequence [batch, seq, input_size] -> one class per sequence, trained with
// cross-entropy; the model that the Fashion-MNIST row recipes name ("sequence_classifier"), where
// an image is read as 28 steps of 28-pixel rows. Two encoders, so an RNN baseline and an attention
// model differ only in the encoder section of the recipe:
//   "rnn" | "lstm" | "gru": nn::RNN / LSTM / GRU (child named as the type: "rnn", "lstm", "gru"),
//                  pooling "last" by default: the last step's output, or with bidirectional the
//                  forward direction's last step and the reverse direction's step 0, i.e. the
//                  last layer's h_n (features 2 * hidden_size). AWD-LSTM's regularization
//                  (Merity et al. 2018): LockedDropout children "input_dropout" on the input x
//                  and "output_dropout" on the last layer's outputs, before pooling; with
//                  "locked_dropout", the between-layer "dropout" is variational too;
//   "transformer": Linear input projection ("input_proj") + positions + TransformerEncoder
//                  ("encoder"), pooling "mean" over steps by default. "attention" names the
//                  mechanism of every layer (scaled_dot_product | sparsemax | topk | hard | gumbel
//                  | linear | cosine | windowed, with "topk", "temperature", "hard", "window");
//                  "positional" is "learned" (child "pos_embedding"), "sinusoidal", "rope",
//                  "alibi" (the last two inside attention) or "none".
// Pooling "query" (transformer only): one learned query ("pool_query" [1, 1, d_model]) reads the
// encoder's outputs through one TransformerDecoderLayer ("pool_decoder", same options as the
// encoder layers): its self-attention over the single query is trivial, its cross-attention is
// the pooling; the decoder's output for the query is the pooled vector.
// Pooling "attention" (any encoder): the last step's output is the query and every step's output
// the keys and values of an AdditiveAttention or LuongAttention child ("pool"), configured by the
// sub-object "attention" (type additive | luong_dot | luong_general | luong_concat | local_m |
// local_p); the pooled vector is [context; query] (2 * features) unless concat_query is false.
// Then dropout and a Linear head ("fc") to num_classes logits.
// Metrics: "accuracy" (fraction of the batch whose argmax is the target).

#include "framework/config.h"
#include "framework/registry.h"
#include "layers/attention/additive.h"
#include "layers/attention/luong.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/linear.h"
#include "layers/positional.h"
#include "layers/rnn.h"
#include "layers/transformer.h"
#include "layers/transformer_decoder.h"

namespace heed::nn {

class SequenceClassifier : public Model {
 public:
  /// Reads the recipe's model section (see docs/recipes.md); throws heed::Error on bad options.
  SequenceClassifier(const Config& config, const DataInfo& info, Generator& gen);
  ModelOutput forward(const Batch& batch) override;
  /// logits [batch, num_classes] for input [batch, seq, input_size].
  Tensor logits(const Tensor& input) const;
  std::string repr() const override;

 private:
  Tensor encode(const Tensor& x) const;  // [batch, seq, features]
  // pooling "attention": [batch, seq, features] -> [batch, features or 2 * features]
  Tensor attention_pool(const Tensor& h) const;
  int64_t make_attention_pool(const Config& a, int64_t features, Generator& gen);
  // encoder "transformer": reads its options, builds input_proj_, positions and encoder_.
  TransformerEncoderLayerOptions make_transformer_encoder(const Config& e, int64_t seq,
                                                          int64_t input_size, Generator& gen);
  // pooling "query": [batch, seq, d_model] -> [batch, d_model]
  Tensor query_pool(const Tensor& h) const;
  void make_query_pool(const TransformerEncoderLayerOptions& o, Generator& gen);
  std::string encoder_type_, pooling_;
  float label_smoothing_;
  // encoder "rnn" | "lstm" | "gru": returns the encoder's width (D * hidden_size).
  int64_t make_rnn_encoder(const Config& e, int64_t input_size, Generator& gen);
  // pooling "last": [batch, seq, features] -> [batch, features] (see the header comment).
  Tensor last_step(const Tensor& h) const;
  std::shared_ptr<RNNBase> rnn_;                                   // encoder "rnn" | "lstm" | "gru"
  std::shared_ptr<LockedDropout> input_dropout_, output_dropout_;  // with rnn_
  std::shared_ptr<Linear> input_proj_;
  std::shared_ptr<LearnedPositionalEmbedding> pos_embedding_;
  std::shared_ptr<TransformerEncoder> encoder_;
  std::shared_ptr<SinusoidalPositionalEncoding> sinusoidal_;  // positional "sinusoidal"
  Tensor pool_query_;                                         // pooling "query"
  std::shared_ptr<TransformerDecoderLayer> pool_decoder_;     // pooling "query"
  std::shared_ptr<AdditiveAttention> additive_pool_;          // pooling "attention", type additive
  std::shared_ptr<LuongAttention> luong_pool_;                // pooling "attention", Luong types
  bool pool_concat_query_ = true;
  std::shared_ptr<Dropout> dropout_;
  std::shared_ptr<Linear> fc_;
};

}  // namespace heed::nn
