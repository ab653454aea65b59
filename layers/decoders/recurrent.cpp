#include "layers/decoders/recurrent.h"

#include "framework/inspect.h"
#include "framework/ops.h"

namespace heed::nn {

namespace {

DecoderFactory from_config(const Config& c, const std::string& cell) {
  RecurrentDecoderOptions o;
  o.cell = cell;
  o.embedding_size = c.get<int64_t>("embedding_size", o.embedding_size, range::size);
  o.attention = alignment_or_none_from_config(c, "attention", &o.attention_type);
  o.attention_path = c.path_of("attention");
  o.input_feeding = c.get<bool>("input_feeding", false);
  HEED_RECIPE_CHECK(!o.input_feeding || o.attention, c.path_of("input_feeding"),
                    ": input feeding feeds the attentional state back, so it needs an attention, "
                    "but \"attention\" is \"none\"");
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
  HEED_CHECK(input.state_size > 0, "decoder \"", options.cell,
             "\" starts from the encoder's final states, which this encoder does not give (a "
             "Transformer encoder has none): use the decoder \"transformer\"");
  // Built in bench/g2p.cpp's order (cell, head, alignment), so its initial weights are the ones
  // it had as its own class.
  const int64_t hidden = input.state_size;
  const int64_t fed = !options.attention ? 0 : options.input_feeding ? hidden : input.memory_size;
  const RNNCellOptions o{.input_size = options.embedding_size + fed, .hidden_size = hidden};
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
  if (options.input_feeding)
    linear_out = add_module("linear_out", std::make_shared<Linear>(input.memory_size + hidden,
                                                                   hidden, gen, /*bias=*/false));
}

struct RecurrentDecoder::State : DecoderState {
  LSTMState s;                  // s_t; c undefined in a GRU
  Tensor feed;                  // h~_t with input feeding
  BoundAlignment align;         // unset with attention "none"
  Tensor memory;                // what `align` reads, kept alive with it
  Tensor previous;              // the alignment's weights at the previous step (monotonic's)
  int64_t t = 0;                // the next step
  std::vector<Tensor> weights;  // each step's attention [batch, 1, 1, source_len], when inspected
  void reorder(const Tensor& rows) override {
    // Row r takes row rows[r]: the embedding op is exactly that gather, [rows, width].
    auto take = [&](Tensor& x) {
      if (x.defined()) x = ops::embedding(x, rows);
    };
    take(s.h);
    take(s.c);
    take(feed);
    if (previous.defined()) {
      const Shape shape = previous.shape();
      previous = ops::embedding(previous.reshape({shape[0], -1}), rows).reshape(shape);
    }
  }
};

Tensor RecurrentDecoder::advance(State& state, const Tensor& x) const {
  const int64_t t = state.t++;
  LSTMState& s = state.s;
  if (!state.align) return (s = step_(x, s)).h;
  // The context [batch, memory_size] queried by h, its weights kept for an Inspector.
  auto attend = [&](const Tensor& h) {
    AttentionOutput a = state.align(h.unsqueeze(1), t, state.previous);
    state.previous = a.weights;
    if (Inspector::active()) state.weights.push_back(a.weights);
    return a.output.squeeze(1);
  };
  if (!options_.input_feeding) {
    s = step_(ops::concat({x, attend(s.h)}, 1), s);
    return s.h;
  }
  s = step_(ops::concat({x, state.feed}, 1), s);
  const Tensor context = attend(s.h);
  state.feed = ops::tanh(linear_out->forward(ops::concat({context, s.h}, 1)));
  return state.feed;
}

// The encoder's batch-first output is a transposed view of its time-major result; the alignment's
// matmul would copy it to contiguous at every step and in every step's backward, so it is made
// contiguous once here, and the alignment binds it once (additive: U k_j).
std::unique_ptr<DecoderState> RecurrentDecoder::start(const Tensor& memory,
                                                      const Tensor& key_padding_mask,
                                                      const EncoderState& state) const {
  HEED_CHECK(
      state.h.defined() && state.h.dim() == 2 && state.h.size(1) == cell->options.hidden_size,
      "RecurrentDecoder: initial state ", state.h.defined() ? state.h.shape() : Shape{},
      " is not [batch, ", cell->options.hidden_size, "]");
  auto s = std::make_unique<State>();
  s->s = {state.h, state.c};  // a GRU's step reads no c
  if (attention) {
    s->memory = memory.contiguous();
    s->align = attention->bind(s->memory, s->memory, key_padding_mask);
  }
  if (options_.input_feeding) s->feed = Tensor::zeros({state.h.size(0), cell->options.hidden_size});
  return s;
}

Tensor RecurrentDecoder::step(DecoderState& state, const Tensor& input) const {
  auto& s = dynamic_cast<State&>(state);
  HEED_CHECK(input.dim() == 2 && input.size(0) == s.s.h.size(0) &&
                 input.size(1) == options_.embedding_size,
             "RecurrentDecoder::step: input ", input.shape(), " is not [", s.s.h.size(0), ", ",
             options_.embedding_size, "]");
  return head->forward(advance(s, input));
}

Tensor RecurrentDecoder::forward(const Tensor& inputs, const Tensor& memory,
                                 const Tensor& key_padding_mask, const EncoderState& state) const {
  HEED_CHECK(inputs.dim() == 3 && inputs.size(2) == options_.embedding_size && state.h.defined() &&
                 state.h.dim() == 2 && state.h.size(0) == inputs.size(0),
             "RecurrentDecoder: inputs ", inputs.shape(), " and initial state ",
             state.h.defined() ? state.h.shape() : Shape{}, " are not [batch, target_len, ",
             options_.embedding_size, "] and [batch, ", cell->options.hidden_size, "]");
  const std::unique_ptr<DecoderState> begun = start(memory, key_padding_mask, state);
  auto& s = static_cast<State&>(*begun);
  const int64_t len = inputs.size(1);
  std::vector<Tensor> outputs;
  outputs.reserve(len);
  for (int64_t t = 0; t < len; ++t) outputs.push_back(advance(s, inputs.select(1, t)));
  // The alignment recorded each step's weights, the last one kept; the whole map replaces them:
  // [batch, 1, target_len, source_len], output steps x input steps.
  if (!s.weights.empty())
    Inspector::record_attention(*attention->module, ops::concat(s.weights, 2));
  // One head over every step at once: a [batch * target_len, hidden] matmul.
  return head->forward(ops::stack(outputs, 1));
}

std::string RecurrentDecoder::repr() const {
  return options_.cell + ", attention=" + options_.attention_type +
         (options_.input_feeding ? ", input_feeding" : "");
}

}  // namespace heed::nn
