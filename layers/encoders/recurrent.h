#pragma once
// The encoders "rnn", "lstm", "gru": nn::RNN / LSTM / GRU (registered as "rnn", "lstm", "gru"),
// batch first, with AWD-LSTM's regularization (Merity et al. 2018, sec. 4.2; salesforce/
// awd-lstm-lm's RNNModel): LockedDropout "input_dropout" on the input x (dropouti) and
// "output_dropout" on the last layer's outputs (dropout); with "locked_dropout", the between-layer
// "dropout" is variational too (dropouth); "weight_drop" is DropConnect on the hidden-to-hidden
// weights. The output dropout's mask is per sequence and feature, so whichever step a pooling
// takes a feature from, it is dropped or kept as that one mask entry says.
//   x [batch, seq, input_size] -> [batch, seq, D * hidden_size] (D = 2 when bidirectional)
// Options: hidden_size, num_layers, dropout, locked_dropout, bidirectional, weight_drop,
// input_dropout, output_dropout; "rnn" also nonlinearity ("tanh" | "relu").

#include "layers/dropout.h"
#include "layers/encoders/encoder.h"
#include "layers/rnn.h"

namespace heed::nn {

struct RecurrentEncoderOptions {
  std::string cell = "lstm";  // "rnn" | "lstm" | "gru": also the module's name
  RNNOptions rnn;             // input_size is the EncoderInput's
  float input_dropout = 0.f;
  float output_dropout = 0.f;
};

class RecurrentEncoder : public Encoder {
 public:
  RecurrentEncoder(const RecurrentEncoderOptions& options, const EncoderInput& input,
                   Generator& gen);
  static EncoderFactory rnn_from_config(const Config& c);
  static EncoderFactory lstm_from_config(const Config& c);
  static EncoderFactory gru_from_config(const Config& c);
  Tensor forward(const Tensor& x, const Tensor& lengths) const override;

  std::shared_ptr<LockedDropout> input_dropout, output_dropout;
  std::shared_ptr<RNNBase> rnn;
};

}  // namespace heed::nn
