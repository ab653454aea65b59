#include "layers/encoders/recurrent.h"

namespace heed::nn {

namespace {

EncoderFactory from_config(const Config& c, const std::string& cell) {
  RecurrentEncoderOptions o;
  o.cell = cell;
  o.rnn.hidden_size = c.get<int64_t>("hidden_size", 128, range::size);
  o.rnn.num_layers = c.get<int64_t>("num_layers", 1, range::layers);
  o.rnn.dropout = c.get<float>("dropout", 0.f, range::probability);
  o.rnn.locked_dropout = c.get<bool>("locked_dropout", false);
  o.rnn.bidirectional = c.get<bool>("bidirectional", false);
  o.rnn.weight_drop = c.get<float>("weight_drop", 0.f, range::below_one);
  o.input_dropout = c.get<float>("input_dropout", 0.f, range::probability);
  if (cell == "rnn") o.rnn.nonlinearity = c.choice("nonlinearity", "tanh", {"tanh", "relu"});
  o.output_dropout = c.get<float>("output_dropout", 0.f, range::probability);
  return [o](const EncoderInput& input, Generator& gen) {
    return std::make_unique<RecurrentEncoder>(o, input, gen);
  };
}

}  // namespace

EncoderFactory RecurrentEncoder::rnn_from_config(const Config& c) {
  return from_config(c, "rnn");
}

EncoderFactory RecurrentEncoder::lstm_from_config(const Config& c) {
  return from_config(c, "lstm");
}

EncoderFactory RecurrentEncoder::gru_from_config(const Config& c) {
  return from_config(c, "gru");
}

RecurrentEncoder::RecurrentEncoder(const RecurrentEncoderOptions& options,
                                   const EncoderInput& input, Generator& gen) {
  RNNOptions o = options.rnn;
  o.input_size = input.input_size;
  input_dropout =
      add_module("input_dropout", std::make_shared<LockedDropout>(options.input_dropout, gen));
  if (options.cell == "rnn")
    rnn = add_module<RNNBase>("rnn", std::make_shared<RNN>(o, gen));
  else if (options.cell == "lstm")
    rnn = add_module<RNNBase>("lstm", std::make_shared<LSTM>(o, gen));
  else
    rnn = add_module<RNNBase>("gru", std::make_shared<GRU>(o, gen));
  output_dropout =
      add_module("output_dropout", std::make_shared<LockedDropout>(options.output_dropout, gen));
  shape.features = (o.bidirectional ? 2 : 1) * o.hidden_size;
  shape.reverse_features = o.bidirectional ? o.hidden_size : 0;
  shape.default_pooling = "last";
}

Tensor RecurrentEncoder::forward(const Tensor& x, const Tensor& lengths) const {
  return output_dropout->forward(rnn->forward(input_dropout->forward(x), lengths).output);
}

}  // namespace heed::nn
