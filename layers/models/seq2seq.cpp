#include "layers/models/seq2seq.h"

#include "framework/ops.h"
#include "layers/models/token_loss.h"

namespace heed::nn {

Seq2SeqOptions Seq2SeqOptions::from_config(const Config& c) {
  Seq2SeqOptions s;
  s.label_smoothing = c.get<float>("label_smoothing", 0.f, range::probability);

  const Config e = c.child("encoder");
  s.encoder_type = e.choice("type", "lstm", {"lstm", "gru"});
  RNNOptions& o = s.encoder;
  o.input_size = e.get<int64_t>("embedding_size", 64, range::size);
  o.hidden_size = e.get<int64_t>("hidden_size", 128, range::size);
  o.num_layers = e.get<int64_t>("num_layers", 1, range::layers);
  o.dropout = e.get<float>("dropout", 0.f, range::probability);
  o.bidirectional = e.get<bool>("bidirectional", true);
  e.finish();
  const int64_t decoder_hidden = (o.bidirectional ? 2 : 1) * o.hidden_size;

  const Config d = c.child("decoder");
  s.decoder_type = d.choice("type", "lstm", {"lstm", "gru"});
  s.target_embedding = d.get<int64_t>("embedding_size", 64, range::size);
  d.finish();

  Config a = c.part("attention", "additive");
  s.attention = a.choice("type", "additive", {"additive", "none"});
  a.set_part("attention", s.attention);
  s.attention_hidden =
      s.attention == "additive" ? a.get<int64_t>("hidden_size", decoder_hidden, range::size) : 0;
  s.attention_dropout =
      s.attention == "additive" ? a.get<float>("dropout", 0.f, range::probability) : 0.f;
  a.finish();
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
  encoder_type_ = s.encoder_type, decoder_type_ = s.decoder_type;
  const RNNOptions& o = s.encoder;
  decoder_hidden_ = (o.bidirectional ? 2 : 1) * o.hidden_size;
  const int64_t target_embedding = s.target_embedding;
  const std::string& attention = s.attention;

  // Built in bench/g2p.cpp's order (embeddings, encoder, decoder, head, attention), so its
  // initial weights are the ones it had as its own class.
  with_recipe_path(c.path(), [&] {
    source_embedding_ = register_module(
        "source_embedding", std::make_shared<Embedding>(source_vocab, o.input_size, gen));
    target_embedding_ = register_module(
        "target_embedding", std::make_shared<Embedding>(target_vocab_, target_embedding, gen));
  });
  with_recipe_path(c.path_of("encoder"), [&] {
    encoder_ = encoder_type_ == "lstm"
                   ? register_module<RNNBase>("encoder", std::make_shared<LSTM>(o, gen))
                   : register_module<RNNBase>("encoder", std::make_shared<GRU>(o, gen));
  });
  const RNNCellOptions cell{
      .input_size = target_embedding + (attention == "additive" ? decoder_hidden_ : 0),
      .hidden_size = decoder_hidden_};
  with_recipe_path(c.path_of("decoder"), [&] {
    if (decoder_type_ == "lstm")
      lstm_decoder_ = register_module("decoder", std::make_shared<LSTMCell>(cell, gen));
    else
      gru_decoder_ = register_module("decoder", std::make_shared<GRUCell>(cell, gen));
  });
  head_ = register_module("head", std::make_shared<Linear>(decoder_hidden_, target_vocab_, gen));
  if (attention == "additive")
    attention_ = register_module("attention", with_recipe_path(c.path_of("attention"), [&] {
                                   return std::make_shared<AdditiveAttention>(
                                       decoder_hidden_, decoder_hidden_, s.attention_hidden,
                                       s.attention_dropout, gen);
                                 }));
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

Tensor Seq2Seq::logits(const Batch& batch) const {
  HEED_CHECK(batch.input.dim() == 2 && batch.target.dim() == 2 &&
                 batch.input.size(0) == batch.target.size(0),
             "seq2seq: needs input int64 [batch, source_len] and target int64 [batch, "
             "target_len], got ",
             batch.input.shape(), " and ", batch.target.shape());
  const RNNOutput enc =
      encoder_->forward(source_embedding_->forward(batch.input), batch.input_lengths);
  // The LSTM's batch-first output is a transposed view of its time-major result; the attention's
  // matmul would copy it to contiguous at every step and in every step's backward, so it is made
  // contiguous once here.
  const Tensor memory = attention_ ? enc.output.contiguous() : enc.output;
  // The last layer's final states, forward || reverse: rows (L - 1) * D + d of h_n.
  const int64_t D = encoder_->options.bidirectional ? 2 : 1;
  const int64_t last = (encoder_->options.num_layers - 1) * D;
  auto final_state = [&](const Tensor& s) {
    return D == 1 ? s.select(0, last) : ops::concat({s.select(0, last), s.select(0, last + 1)}, 1);
  };
  Tensor h = final_state(enc.h_n);
  Tensor cell = lstm_decoder_ && enc.c_n.defined() ? final_state(enc.c_n) : Tensor();
  const Tensor padding = batch.input_padding_mask();
  // U k_j, once per batch: it does not change over the steps.
  const Tensor keys = attention_ ? attention_->project_keys(memory) : Tensor();
  const int64_t len = batch.target.size(1);
  const Tensor inputs = target_embedding_->forward(decoder_input(batch.target));
  std::vector<Tensor> outputs;
  outputs.reserve(len);
  for (int64_t t = 0; t < len; ++t) {
    Tensor x = inputs.select(1, t);  // [batch, embedding]
    if (attention_) {
      const Tensor context =
          attention_->forward_projected(h.unsqueeze(1), keys, memory, padding).output.squeeze(1);
      x = ops::concat({x, context}, 1);
    }
    if (lstm_decoder_) {
      const LSTMState s = lstm_decoder_->forward(x, h, cell);
      h = s.h;
      cell = s.c;
    } else {
      h = gru_decoder_->forward(x, h);
    }
    outputs.push_back(h);
  }
  return head_->forward(ops::stack(outputs, 1));
}

ModelOutput Seq2Seq::forward(const Batch& batch) {
  return token_output(logits(batch).reshape({-1, target_vocab_}), batch.target, label_smoothing_);
}

std::string Seq2Seq::repr() const {
  return "Seq2Seq(encoder=" + encoder_type_ + ", decoder=" + decoder_type_ +
         ", attention=" + (attention_ ? "additive" : "none") + ")";
}

}  // namespace heed::nn
