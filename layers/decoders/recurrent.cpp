#include "layers/decoders/recurrent.h"

#include "framework/ops.h"

namespace heed::nn {

namespace {

DecoderFactory from_config(const Config& c, const std::string& cell) {
  RecurrentDecoderOptions o;
  o.cell = cell;
  o.embedding_size = c.get<int64_t>("embedding_size", o.embedding_size, range::size);
  o.attention = alignment_or_none_from_config(c, "attention", &o.attention_type);
  o.attention_path = c.path_of("attention");
  return {o.embedding_size, [o](const DecoderInput& input, Generator& gen) {
            return std::make_unique<RecurrentDecoder>(o, input, gen);
          }};
}

}  // namespace

DecoderFactory RecurrentDecoder::lstm_from_config(const Config& c) {
  return from_config(c, "lstm");
}

DecoderFactory RecurrentDecoder::gru_from_config(const Config& c) {
  return from_config(c, "gru");
}

RecurrentDecoder::RecurrentDecoder(const RecurrentDecoderOptions& options,
                                   const DecoderInput& input, Generator& gen)
    : options_(options) {
  HEED_CHECK(input.state_size > 0,
             "RecurrentDecoder: starts from the encoder's final states, but "
             "the encoder gives none (state_size ",
             input.state_size, ")");
  // Built in bench/g2p.cpp's order (cell, head, alignment), so its initial weights are the ones
  // it had as its own class.
  const int64_t hidden = input.state_size;
  const RNNCellOptions o{
      .input_size = options.embedding_size + (options.attention ? input.memory_size : 0),
      .hidden_size = hidden};
  if (options.cell == "lstm") {
    auto lstm = add_module("decoder", std::make_shared<LSTMCell>(o, gen));
    cell = lstm;
    step_ = [lstm](const Tensor& x, const LSTMState& s) { return lstm->forward(x, s.h, s.c); };
  } else {
    auto gru = add_module("decoder", std::make_shared<GRUCell>(o, gen));
    cell = gru;
    step_ = [gru](const Tensor& x, const LSTMState& s) {
      return LSTMState{gru->forward(x, s.h), Tensor()};
    };
  }
  head = add_module("head", std::make_shared<Linear>(hidden, input.target_vocab, gen));
  if (options.attention) {
    attention = with_recipe_path(options.attention_path, [&] {
      return options.attention({.query_size = hidden, .key_size = input.memory_size}, gen);
    });
    add_module("attention", attention->module);
  }
}

Tensor RecurrentDecoder::forward(const Tensor& inputs, const Tensor& memory,
                                 const Tensor& key_padding_mask, const EncoderState& state) const {
  HEED_CHECK(inputs.dim() == 3 && inputs.size(2) == options_.embedding_size && state.h.defined() &&
                 state.h.dim() == 2 && state.h.size(0) == inputs.size(0),
             "RecurrentDecoder: inputs ", inputs.shape(), " and initial state ",
             state.h.defined() ? state.h.shape() : Shape{}, " are not [batch, target_len, ",
             options_.embedding_size, "] and [batch, ", cell->options.hidden_size, "]");
  // The encoder's batch-first output is a transposed view of its time-major result; the
  // alignment's matmul would copy it to contiguous at every step and in every step's backward,
  // so it is made contiguous once here, and the alignment binds it once (additive: U k_j).
  const Tensor values = attention ? memory.contiguous() : memory;
  const BoundAlignment align =
      attention ? attention->bind(values, values, key_padding_mask) : BoundAlignment();
  LSTMState s{state.h, state.c};  // a GRU's step reads no c
  const int64_t len = inputs.size(1);
  std::vector<Tensor> outputs;
  outputs.reserve(len);
  for (int64_t t = 0; t < len; ++t) {
    Tensor x = inputs.select(1, t);  // [batch, embedding_size]
    if (align) x = ops::concat({x, align(s.h.unsqueeze(1), t).output.squeeze(1)}, 1);
    s = step_(x, s);
    outputs.push_back(s.h);
  }
  return head->forward(ops::stack(outputs, 1));
}

std::string RecurrentDecoder::repr() const {
  return options_.cell + ", attention=" + options_.attention_type;
}

}  // namespace heed::nn
