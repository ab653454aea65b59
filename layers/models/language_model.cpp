#include "layers/models/language_model.h"

#include <cmath>
#include <limits>

#include "framework/ops.h"
#include "layers/attention/scaled_dot_product.h"
#include "layers/encoders/transformer.h"
#include "layers/models/token_loss.h"

namespace heed::nn {

namespace {

const Vocabulary& token_vocabulary(const DataInfo& info, const char* model) {
  HEED_CHECK(info.input_kind == InputKind::Tokens && info.target_kind == TargetKind::Tokens &&
                 info.input_vocab.has_value(),
             model, ": needs token inputs and token targets with a vocabulary (a text dataset)");
  return *info.input_vocab;
}

}  // namespace

LanguageModelOptions LanguageModelOptions::from_config(const Config& c) {
  LanguageModelOptions o;
  o.path = c.path();
  const Config e = c.child("encoder");
  o.encoder_path = e.path();
  o.encoder_type = e.choice("type", "lstm", {"rnn", "lstm", "gru", "transformer"});
  const bool transformer = o.encoder_type == "transformer";
  // A Transformer's embedding is d_model wide; only an RNN's has a size of its own.
  o.embedding_size = transformer ? 0 : c.get<int64_t>("embedding_size", 128, range::size);
  o.dropout = c.get<float>("dropout", 0.f, range::probability);
  o.embedding_dropout = c.get<float>("embedding_dropout", 0.f, range::probability);
  o.tie_weights = c.get<bool>("tie_weights", false);
  o.label_smoothing = c.get<float>("label_smoothing", 0.f, range::probability);
  if (transformer) {
    o.transformer = transformer_encoder_options(e);
    o.final_norm = e.get<bool>("final_norm", o.transformer.layer.norm_first);
  } else {
    o.rnn.input_size = o.embedding_size;
    o.rnn.hidden_size = e.get<int64_t>("hidden_size", 128, range::size);
    o.rnn.num_layers = e.get<int64_t>("num_layers", 1, range::layers);
    o.rnn.dropout = e.get<float>("dropout", 0.f, range::probability);
    o.rnn.locked_dropout = e.get<bool>("locked_dropout", false);
    o.rnn.weight_drop = e.get<float>("weight_drop", 0.f, range::below_one);
    o.input_dropout = e.get<float>("input_dropout", 0.f, range::probability);
    o.output_dropout = e.get<float>("output_dropout", 0.f, range::probability);
    if (o.encoder_type == "rnn")
      o.rnn.nonlinearity = e.choice("nonlinearity", "tanh", {"tanh", "relu"});
  }
  e.finish();
  c.finish();
  return o;
}

LanguageModel::LanguageModel(const Config& c, const DataInfo& info, Generator& gen) {
  vocab_ = token_vocabulary(info, "language_model").size();
  HEED_CHECK(info.num_classes == vocab_, "language_model: the target vocabulary (",
             info.num_classes, " tokens) must be the input's (", vocab_, " tokens)");
  const int64_t max_len = info.input_shape.empty() ? 0 : info.input_shape[0];
  max_context_ = max_len > 0 ? max_len : std::numeric_limits<int64_t>::max();
  const LanguageModelOptions o = LanguageModelOptions::from_config(c);
  encoder_type_ = o.encoder_type;
  const bool transformer = encoder_type_ == "transformer";
  label_smoothing_ = o.label_smoothing;
  carry_state_ = info.carry_state;
  if (transformer && carry_state_)
    throw recipe_error("data.carry_state", " is true, but the language model's encoder \"",
                       o.encoder_path,
                       "\" is a Transformer, which has no recurrent state to carry across "
                       "windows: set data.carry_state to false (or use an rnn, lstm or gru "
                       "encoder)");
  // Built in this order (embedding, encoder, head), so a run's initial weights follow the
  // generator in the order the parameters are listed.
  if (!transformer)
    embedding_ = register_module("embedding", with_recipe_path(o.path, [&] {
                                   return std::make_shared<Embedding>(vocab_, o.embedding_size, gen,
                                                                      -1, o.embedding_dropout);
                                 }));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(o.dropout, gen));
  with_recipe_path(o.encoder_path, [&] {
    width_ = transformer ? make_transformer(o, max_len, gen) : make_rnn(o, gen);
  });
  if (o.tie_weights) {
    HEED_RECIPE_CHECK(width_ == embedding_->embedding_dim, c.path_of("tie_weights"),
                      " needs the encoder's width (", width_, ") equal to the embedding size (",
                      embedding_->embedding_dim,
                      "): the output layer reuses the embedding [vocab, embedding_size]");
    const float bound = 1.f / std::sqrt(static_cast<float>(width_));  // as Linear's bias
    head_bias_ = register_parameter("head_bias", Tensor::rand({vocab_}, gen, -bound, bound));
  } else {
    head_ = register_module("head", std::make_shared<Linear>(width_, vocab_, gen));
  }
}

int64_t LanguageModel::make_rnn(const LanguageModelOptions& options, Generator& gen) {
  const RNNOptions& o = options.rnn;
  // Registered only when used, so a model without them prints (and draws) as before.
  if (options.input_dropout > 0.f)
    input_dropout_ = register_module("input_dropout",
                                     std::make_shared<LockedDropout>(options.input_dropout, gen));
  if (encoder_type_ == "rnn")
    rnn_ = register_module<RNNBase>("rnn", std::make_shared<RNN>(o, gen));
  else if (encoder_type_ == "lstm")
    rnn_ = register_module<RNNBase>("lstm", std::make_shared<LSTM>(o, gen));
  else
    rnn_ = register_module<RNNBase>("gru", std::make_shared<GRU>(o, gen));
  if (options.output_dropout > 0.f)
    output_dropout_ = register_module("output_dropout",
                                      std::make_shared<LockedDropout>(options.output_dropout, gen));
  return o.hidden_size;
}

int64_t LanguageModel::make_transformer(const LanguageModelOptions& options, int64_t max_len,
                                        Generator& gen) {
  const TransformerEncoderLayerOptions& o = options.transformer.layer;
  const std::string& positional = options.transformer.positional;
  const int64_t num_layers = options.transformer.num_layers;
  HEED_CHECK((positional != "learned" && positional != "sinusoidal") || max_len > 0,
             "language_model: positional \"", positional,
             "\" needs the data's longest input (DataInfo::input_shape [max_len])");
  embedding_ = register_module("embedding", std::make_shared<Embedding>(vocab_, o.d_model, gen, -1,
                                                                        options.embedding_dropout));
  if (positional == "learned")
    pos_embedding_ = register_module(
        "pos_embedding", std::make_shared<LearnedPositionalEmbedding>(max_len, o.d_model, gen));
  if (positional == "sinusoidal")
    sinusoidal_ = std::make_shared<SinusoidalPositionalEncoding>(o.d_model, max_len);
  encoder_ = register_module(
      "encoder", std::make_shared<TransformerEncoder>(o, num_layers, options.final_norm, gen));
  return o.d_model;
}

Tensor LanguageModel::logits(const Tensor& input, const Tensor& input_lengths,
                             const RecurrentState& start, RecurrentState* end) const {
  HEED_CHECK(rnn_ || (!start.h.defined() && !end),
             "language_model: a Transformer has no recurrent state to start from or end with");
  Tensor x = dropout_->forward(embedding_->forward(input));
  Tensor h;
  if (rnn_) {
    if (input_dropout_) x = input_dropout_->forward(x);
    RNNOutput out = rnn_->forward(x, input_lengths, start.h, start.c);
    h = output_dropout_ ? output_dropout_->forward(out.output) : out.output;
    if (end) *end = {out.h_n, out.c_n};
  } else {
    if (pos_embedding_) x = pos_embedding_->forward(x);
    if (sinusoidal_) x = sinusoidal_->forward(x);
    const int64_t seq = input.size(1);
    const Tensor padding = input_lengths.defined() ? padding_mask(input_lengths, seq) : Tensor();
    h = encoder_->forward(x, padding, causal_mask(seq, seq));
  }
  h = dropout_->forward(h);
  return head_ ? head_->forward(h) : ops::linear(h, embedding_->weight, head_bias_);
}

Tensor LanguageModel::next_token_logits(const Tensor& tokens) const {
  HEED_CHECK(tokens.dim() == 2 && tokens.size(1) >= 1 && tokens.size(1) <= max_context_,
             "language_model: next_token_logits needs tokens int64 [batch, 1..", max_context_,
             "], got ", tokens.shape());
  return logits(tokens).select(1, -1);
}

ModelOutput LanguageModel::forward(const Batch& batch) {
  HEED_CHECK(batch.input.dim() == 2 && batch.target.shape() == batch.input.shape(),
             "language_model: needs input and target int64 [batch, seq] of one shape, got ",
             batch.input.shape(), " and ", batch.target.shape());
  if (!carry_state_) {
    const Tensor out = logits(batch.input, batch.input_lengths);
    return token_output(out.reshape({-1, vocab_}), batch.target, label_smoothing_);
  }
  // Another row count is another layout (the trainer's probe batch, an inspection): from zeros.
  const bool continues = carried_.h.defined() && carried_.h.size(1) == batch.size();
  RecurrentState end;
  const Tensor out =
      logits(batch.input, batch.input_lengths, continues ? carried_ : RecurrentState{}, &end);
  carried_ = {end.h.detach(), end.c.defined() ? end.c.detach() : Tensor()};
  return token_output(out.reshape({-1, vocab_}), batch.target, label_smoothing_);
}

StateDict LanguageModel::carried_state() const {
  if (!carried_.h.defined()) return {};
  StateDict state = {{"h_n", carried_.h}};
  if (carried_.c.defined()) state.emplace_back("c_n", carried_.c);
  return state;
}

void LanguageModel::set_carried_state(const StateDict& state, int64_t batch) {
  HEED_CHECK(carry_state_ || state.empty(),
             "language_model: carries no state across batches (data.carry_state is false)");
  const bool lstm = encoder_type_ == "lstm";
  const Shape want{rnn_ ? rnn_->options.num_layers : 0, batch,
                   rnn_ ? rnn_->options.hidden_size : 0};
  RecurrentState next;
  for (const auto& [name, t] : state) {
    Tensor* slot = name == "h_n" ? &next.h : name == "c_n" && lstm ? &next.c : nullptr;
    HEED_CHECK(slot, "language_model: \"", name, "\" is not a state it carries (",
               lstm ? "an LSTM carries h_n and c_n" : "an RNN or GRU carries h_n", ")");
    HEED_CHECK(t.dtype() == Dtype::Float32 && t.shape() == want, "language_model: state ", name,
               " is ", dtype_name(t.dtype()), " ", t.shape(), ", expected float32 ", want,
               " ([num_layers, batch_size, hidden_size])");
    *slot = t;
  }
  HEED_CHECK(state.empty() || next.h.defined(), "language_model: state h_n is missing");
  HEED_CHECK(state.empty() || !lstm || next.c.defined(), "language_model: state c_n is missing");
  carried_ = next;
}

std::string LanguageModel::repr() const {
  return "LanguageModel(encoder=" + encoder_type_ + ", vocab=" + std::to_string(vocab_) +
         ", width=" + std::to_string(width_) + (head_ ? "" : ", tie_weights=true") + ")";
}

}  // namespace heed::nn
