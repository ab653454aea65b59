#include "layers/models/seq2seq.h"

#include "framework/ops.h"
#include "layers/models/token_loss.h"

namespace heed::nn {

Seq2SeqOptions Seq2SeqOptions::from_config(const Config& c) {
  Seq2SeqOptions s;
  s.label_smoothing = c.get<float>("label_smoothing", 0.f, range::probability);
  const Config e = c.child("encoder");
  s.encoder_type = e.choice("type", "lstm", {"lstm", "gru", "transformer"});
  RNNOptions& o = s.encoder;
  o.input_size = e.get<int64_t>("embedding_size", 64, range::size);
  if (s.encoder_type == "transformer") {
    s.transformer = transformer_encoder_options(e);
  } else {
    o.hidden_size = e.get<int64_t>("hidden_size", 128, range::size);
    o.num_layers = e.get<int64_t>("num_layers", 1, range::layers);
    o.dropout = e.get<float>("dropout", 0.f, range::probability);
    o.bidirectional = e.get<bool>("bidirectional", true);
  }
  e.finish();
  // The alignment is the decoder's: a recipe written before it moved gets told where.
  // (Read from the raw JSON: "attention" is not an option here, so the error lists no such key.)
  HEED_RECIPE_CHECK(!c.json().contains("attention"), c.path_of("attention"),
                    " is the decoder's option now: write it as \"", c.path_of("decoder"),
                    ".attention\", e.g. \"decoder\": {\"type\": \"lstm\", \"attention\": "
                    "\"additive\"}");
  s.decoder = decoder_from_config(c, "decoder");
  c.finish();
  return s;
}

Seq2Seq::Seq2Seq(const Config& c, const DataInfo& info, Generator& gen) {
  HEED_CHECK(info.input_kind == InputKind::Tokens && info.target_kind == TargetKind::Tokens &&
                 info.input_vocab.has_value(),
             "seq2seq: needs token inputs and token targets with a vocabulary (a sequence "
             "transduction dataset)");
  const int64_t source_vocab = info.input_vocab->size();
  target_vocab_ = info.num_classes;
  const Seq2SeqOptions s = Seq2SeqOptions::from_config(c);
  label_smoothing_ = s.label_smoothing;
  encoder_type_ = s.encoder_type;
  const RNNOptions& o = s.encoder;
  const DecoderFactory& make_decoder = s.decoder;

  // Built in bench/g2p.cpp's order (embeddings, encoder, decoder: its cell, head, attention), so
  // its initial weights are the ones it had as its own class.
  with_recipe_path(c.path(), [&] {
    source_embedding_ = register_module(
        "source_embedding", std::make_shared<Embedding>(source_vocab, o.input_size, gen));
    target_embedding_ = register_module(
        "target_embedding",
        std::make_shared<Embedding>(target_vocab_, make_decoder.embedding_size, gen));
  });
  int64_t width = 0, state_size = 0;  // the memory's width; the final states' (0: none)
  with_recipe_path(c.path_of("encoder"), [&] {
    if (encoder_type_ == "transformer") {
      const int64_t max_len = info.input_shape.empty() ? 0 : info.input_shape[0];
      transformer_ = std::make_unique<TransformerSequenceEncoder>(
          s.transformer, EncoderInput{.seq = max_len, .input_size = o.input_size}, gen);
      for (const auto& [name, module] : transformer_->modules()) register_module(name, module);
      width = s.transformer.layer.d_model;
      return;
    }
    encoder_ = encoder_type_ == "lstm"
                   ? register_module<RNNBase>("encoder", std::make_shared<LSTM>(o, gen))
                   : register_module<RNNBase>("encoder", std::make_shared<GRU>(o, gen));
    width = state_size = (o.bidirectional ? 2 : 1) * o.hidden_size;
  });
  decoder_ = with_recipe_path(c.path_of("decoder"), [&] {
    return make_decoder.build(
        {.memory_size = width, .state_size = state_size, .target_vocab = target_vocab_}, gen);
  });
  for (const auto& [name, value] : decoder_->parameters()) register_parameter(name, value);
  for (const auto& [name, module] : decoder_->modules()) register_module(name, module);
}

Tensor Seq2Seq::decoder_input(const Tensor& target) {
  const int64_t batch = target.size(0), len = target.size(1);
  const std::vector<int64_t> y = target.to_vector_i64();
  std::vector<int64_t> shifted(y.size());
  for (int64_t b = 0; b < batch; ++b) {
    shifted[b * len] = Vocabulary::kBos;
    for (int64_t t = 1; t < len; ++t) shifted[b * len + t] = y[b * len + t - 1];
  }
  return Tensor::from_vector_i64(shifted, {batch, len});
}

Seq2Seq::Encoded Seq2Seq::encode(const Batch& batch) const {
  if (transformer_)
    return {transformer_->forward(source_embedding_->forward(batch.input), batch.input_lengths),
            batch.input_padding_mask(),
            {}};
  const RNNOutput enc =
      encoder_->forward(source_embedding_->forward(batch.input), batch.input_lengths);
  // The last layer's final states, forward || reverse: rows (L - 1) * D + d of h_n.
  const int64_t D = encoder_->options.bidirectional ? 2 : 1;
  const int64_t last = (encoder_->options.num_layers - 1) * D;
  auto final_state = [&](const Tensor& s) {
    return D == 1 ? s.select(0, last) : ops::concat({s.select(0, last), s.select(0, last + 1)}, 1);
  };
  return {enc.output,
          batch.input_padding_mask(),
          {final_state(enc.h_n), enc.c_n.defined() ? final_state(enc.c_n) : Tensor()}};
}

Tensor Seq2Seq::logits(const Batch& batch) const {
  HEED_CHECK(batch.input.dim() == 2 && batch.target.dim() == 2 &&
                 batch.input.size(0) == batch.target.size(0),
             "seq2seq: needs input int64 [batch, source_len] and target int64 [batch, "
             "target_len], got ",
             batch.input.shape(), " and ", batch.target.shape());
  const Encoded e = encode(batch);
  return decoder_->forward(target_embedding_->forward(decoder_input(batch.target)), e.memory,
                           e.key_padding_mask, e.state);
}

namespace {

// Each row of x [batch, ...] `copies` times in a row: [batch * copies, ...].
Tensor repeat_rows(const Tensor& x, int64_t copies) {
  if (!x.defined() || copies == 1) return x;
  Shape expanded = x.shape();
  expanded.insert(expanded.begin() + 1, copies);
  Shape merged = x.shape();
  merged[0] *= copies;
  return ops::expand(x.unsqueeze(1), expanded).contiguous().reshape(merged);
}

// The decoder as the search sees it: embeds each row's previous token and steps.
class DecoderScorer : public StepScorer {
 public:
  DecoderScorer(const Decoder& decoder, const Embedding& embedding,
                std::unique_ptr<DecoderState> state)
      : decoder_(decoder), embedding_(embedding), state_(std::move(state)) {}
  Tensor next(const std::vector<int64_t>& previous) override {
    const auto rows = static_cast<int64_t>(previous.size());
    return decoder_.step(*state_, embedding_.forward(Tensor::from_vector_i64(previous, {rows})));
  }
  void reorder(const std::vector<int64_t>& rows) override {
    state_->reorder(Tensor::from_vector_i64(rows, {static_cast<int64_t>(rows.size())}));
  }

 private:
  const Decoder& decoder_;
  const Embedding& embedding_;
  std::unique_ptr<DecoderState> state_;
};

}  // namespace

std::vector<Hypothesis> Seq2Seq::decode(const Batch& batch, const SearchOptions& options) const {
  HEED_CHECK(batch.input.dim() == 2, "seq2seq decode: needs input int64 [batch, source_len], got ",
             batch.input.shape());
  NoGradGuard no_grad;
  SearchOptions o = options;
  if (o.max_length == 0) o.max_length = 2 * batch.input.size(1) + 10;
  // Beam search holds beam_size rows per source: the source is encoded that many times (the
  // decoder's steps, not the encoder, are the cost of decoding).
  const int64_t K = o.beam_size;
  const Encoded e =
      encode({repeat_rows(batch.input, K), Tensor(), repeat_rows(batch.input_lengths, K)});
  DecoderScorer scorer(*decoder_, *target_embedding_,
                       decoder_->start(e.memory, e.key_padding_mask, e.state));
  return K == 1 ? greedy_search(scorer, batch.size(), o.max_length, o.length_penalty)
                : beam_search(scorer, batch.size(), o);
}

ModelOutput Seq2Seq::forward(const Batch& batch) {
  return token_output(logits(batch).reshape({-1, target_vocab_}), batch.target, label_smoothing_);
}

std::string Seq2Seq::repr() const {
  return "Seq2Seq(encoder=" + encoder_type_ + ", decoder=" + decoder_->repr() + ")";
}

}  // namespace heed::nn
