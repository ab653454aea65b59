#include "layers/models/sequence_classifier.h"

#include "framework/ops.h"
#include "layers/models/classification.h"

namespace heed::nn {

SequenceClassifier::SequenceClassifier(const Config& c, const DataInfo& info, Generator& gen) {
  HEED_CHECK(info.input_shape.size() == 2,
             "sequence_classifier: needs inputs of [seq, features] per example, got ",
             info.input_shape, " (for images, use data.layout \"rows\")");
  const int64_t seq = info.input_shape[0], input_size = info.input_shape[1];
  const Config e = c.child("encoder");
  encoder_type_ = e.choice("type", "lstm", {"rnn", "lstm", "gru", "transformer"});
  int64_t features = 0;
  TransformerEncoderLayerOptions encoder_options;
  with_recipe_path(e.path(), [&] {
    if (encoder_type_ != "transformer") {
      features = make_rnn_encoder(e, input_size, gen);
    } else {
      encoder_options = make_transformer_encoder(e, seq, input_size, gen);
      features = encoder_options.d_model;
    }
  });
  e.finish();
  pooling_ = c.choice("pooling", encoder_type_ != "transformer" ? "last" : "mean",
                      {"last", "mean", "attention", "query"});
  if (pooling_ == "attention") {
    const Config a = c.child("attention");
    features = with_recipe_path(a.path(), [&] { return make_attention_pool(a, features, gen); });
  }
  if (pooling_ == "query")
    with_recipe_path(c.path_of("pooling"), [&] { make_query_pool(encoder_options, gen); });
  label_smoothing_ = c.get<float>("label_smoothing", 0.f, range::probability);
  dropout_ = register_module(
      "dropout", std::make_shared<Dropout>(c.get<float>("dropout", 0.f, range::probability), gen));
  fc_ = register_module("fc", with_recipe_path(c.path(), [&] {
                          return std::make_shared<Linear>(features, info.num_classes, gen);
                        }));
  c.finish();
}

TransformerEncoderLayerOptions SequenceClassifier::make_transformer_encoder(const Config& e,
                                                                            int64_t seq,
                                                                            int64_t input_size,
                                                                            Generator& gen) {
  TransformerEncoderLayerOptions o;
  o.d_model = e.get<int64_t>("d_model", 64, range::size);
  o.nhead = e.get<int64_t>("nhead", 4, range::size);
  HEED_RECIPE_CHECK(o.d_model % o.nhead == 0, e.path_of("d_model"), " (", o.d_model,
                    ") must be divisible by \"", e.path_of("nhead"), "\" (", o.nhead, ")");
  o.dim_feedforward = e.get<int64_t>("dim_feedforward", 4 * o.d_model, range::size);
  o.dropout = e.get<float>("dropout", 0.1f, range::probability);
  o.activation = e.choice("activation", "gelu", {"relu", "gelu"});
  o.norm_first = e.get<bool>("norm_first", true);
  o.attention = attention_from_config(e);
  const std::string positional =
      e.choice("positional", "learned", {"learned", "sinusoidal", "rope", "alibi", "none"});
  if (positional == "rope" || positional == "alibi") o.attention.positional = positional;
  HEED_RECIPE_CHECK(positional != "rope" || (o.d_model / o.nhead) % 2 == 0, e.path_of("positional"),
                    " \"rope\" rotates pairs of features: \"", e.path_of("d_model"), "\" / \"",
                    e.path_of("nhead"), "\" (", o.d_model, " / ", o.nhead, ") must be even");
  const int64_t num_layers = e.get<int64_t>("num_layers", 2, range::layers);
  input_proj_ = register_module("input_proj", std::make_shared<Linear>(input_size, o.d_model, gen));
  if (positional == "learned")
    pos_embedding_ = register_module(
        "pos_embedding", std::make_shared<LearnedPositionalEmbedding>(seq, o.d_model, gen));
  if (positional == "sinusoidal")
    sinusoidal_ = std::make_shared<SinusoidalPositionalEncoding>(o.d_model, seq);
  encoder_ = register_module(
      "encoder", std::make_shared<TransformerEncoder>(o, num_layers, o.norm_first, gen));
  return o;
}

Tensor SequenceClassifier::encode(const Tensor& x) const {
  if (rnn_) return output_dropout_->forward(rnn_->forward(input_dropout_->forward(x)).output);
  Tensor h = input_proj_->forward(x);
  if (pos_embedding_) h = pos_embedding_->forward(h);
  if (sinusoidal_) h = sinusoidal_->forward(h);
  return encoder_->forward(h);
}

// AWD-LSTM's dropouts (Merity et al. 2018, sec. 4.2; salesforce/awd-lstm-lm's RNNModel):
// input_dropout = dropouti, locked_dropout makes dropout its dropouth, output_dropout = dropout.
// The output dropout acts before pooling; its mask is per sequence and feature, so whichever step
// a feature is pooled from (with bidirectional "last", the reverse half from step 0), the pooled
// feature is dropped or kept as that one mask entry says.
int64_t SequenceClassifier::make_rnn_encoder(const Config& e, int64_t input_size, Generator& gen) {
  RNNOptions o;
  o.input_size = input_size;
  o.hidden_size = e.get<int64_t>("hidden_size", 128, range::size);
  o.num_layers = e.get<int64_t>("num_layers", 1, range::layers);
  o.dropout = e.get<float>("dropout", 0.f, range::probability);
  o.locked_dropout = e.get<bool>("locked_dropout", false);
  o.bidirectional = e.get<bool>("bidirectional", false);
  o.weight_drop = e.get<float>("weight_drop", 0.f, range::below_one);
  input_dropout_ = register_module(
      "input_dropout",
      std::make_shared<LockedDropout>(e.get<float>("input_dropout", 0.f, range::probability), gen));
  if (encoder_type_ == "rnn") {
    o.nonlinearity = e.choice("nonlinearity", "tanh", {"tanh", "relu"});
    rnn_ = register_module<RNNBase>("rnn", std::make_shared<RNN>(o, gen));
  } else if (encoder_type_ == "lstm") {
    rnn_ = register_module<RNNBase>("lstm", std::make_shared<LSTM>(o, gen));
  } else {
    rnn_ = register_module<RNNBase>("gru", std::make_shared<GRU>(o, gen));
  }
  output_dropout_ = register_module(
      "output_dropout", std::make_shared<LockedDropout>(
                            e.get<float>("output_dropout", 0.f, range::probability), gen));
  return (o.bidirectional ? 2 : 1) * o.hidden_size;
}

// A bidirectional encoder's reverse direction has read the whole sequence at step 0.
Tensor SequenceClassifier::last_step(const Tensor& h) const {
  if (!rnn_ || !rnn_->options.bidirectional) return h.select(1, -1);
  const int64_t hidden = rnn_->options.hidden_size;
  return ops::concat(
      {h.select(1, -1).narrow(1, 0, hidden), h.select(1, 0).narrow(1, hidden, hidden)}, 1);
}

// pooling "query": a learned query, N(0, 0.02^2) as the positions, cross-attends to the steps.
void SequenceClassifier::make_query_pool(const TransformerEncoderLayerOptions& o, Generator& gen) {
  HEED_CHECK(encoder_,
             "sequence_classifier: pooling \"query\" needs encoder.type "
             "\"transformer\" (its decoder layer reuses the encoder's options)");
  pool_query_ = register_parameter("pool_query", Tensor::randn({1, 1, o.d_model}, gen) * 0.02f);
  pool_decoder_ =
      register_module("pool_decoder", std::make_shared<TransformerDecoderLayer>(o, gen));
}

Tensor SequenceClassifier::query_pool(const Tensor& h) const {
  const Tensor query = pool_query_.expand({h.size(0), 1, h.size(2)});
  return pool_decoder_->forward(query, h).squeeze(1);
}

// The query is the last step (Luong's h_t of a decoder's first step); local_m centres its window
// there. Returns the pooled width.
int64_t SequenceClassifier::make_attention_pool(const Config& a, int64_t features, Generator& gen) {
  const std::string type =
      a.choice("type", "additive",
               {"additive", "luong_dot", "luong_general", "luong_concat", "local_m", "local_p"});
  const int64_t hidden = a.get<int64_t>("hidden_size", features, range::size);
  const float dropout = a.get<float>("dropout", 0.f, range::probability);
  pool_concat_query_ = a.get<bool>("concat_query", true);
  if (type == "additive") {
    additive_pool_ = register_module(
        "pool", std::make_shared<AdditiveAttention>(features, features, hidden, dropout, gen));
  } else {
    LuongOptions o;
    const bool local = type == "local_m" || type == "local_p";
    o.score = local ? a.choice("score", "general", {"dot", "general", "concat"}) : type.substr(6);
    o.align = local ? type : "global";
    o.query_size = o.key_size = features;
    o.hidden_size = hidden;
    // local_p's Gaussian has sigma = window / 2: a window of 0 divides by zero (NaN at step 1).
    if (local)
      o.window = a.get<int64_t>("window", 8, type == "local_p" ? range::size : range::size_or_zero);
    o.dropout = dropout;
    luong_pool_ = register_module("pool", std::make_shared<LuongAttention>(o, gen));
  }
  a.finish();
  return pool_concat_query_ ? 2 * features : features;
}

Tensor SequenceClassifier::attention_pool(const Tensor& h) const {
  const int64_t seq = h.size(1);
  const Tensor query = h.narrow(1, seq - 1, 1);  // [batch, 1, features]
  const AttentionOutput a = additive_pool_ ? additive_pool_->forward(query, h, h)
                                           : luong_pool_->forward(query, h, h, Tensor(), seq - 1);
  const Tensor context = a.output.squeeze(1);
  return pool_concat_query_ ? ops::concat({context, query.squeeze(1)}, 1) : context;
}

Tensor SequenceClassifier::logits(const Tensor& input) const {
  const Tensor h = encode(input);
  const Tensor pooled = pooling_ == "query"       ? query_pool(h)
                        : pooling_ == "attention" ? attention_pool(h)
                        : pooling_ == "last"      ? last_step(h)
                                                  : ops::mean(h, {1});
  return fc_->forward(dropout_->forward(pooled));
}

ModelOutput SequenceClassifier::forward(const Batch& batch) {
  return classification_output(*this, logits(batch.input), batch.target, label_smoothing_);
}

std::string SequenceClassifier::repr() const {
  return "SequenceClassifier(encoder=" + encoder_type_ + ", pooling=" + pooling_ + ")";
}

}  // namespace heed::nn
