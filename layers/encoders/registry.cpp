#include "layers/encoders/recurrent.h"
#include "layers/encoders/transformer.h"

namespace heed::nn {

namespace {

const PartRegistry<EncoderFactory>& registry() {
  static const PartRegistry<EncoderFactory> list({
      {{"encoder", "rnn", "Elman RNN (tanh or relu) with locked dropouts; pooling \"last\"", ""},
       &RecurrentEncoder::rnn_from_config},
      {{"encoder", "lstm",
        "LSTM with AWD-LSTM's locked dropouts (Merity et al. 2018); pooling "
        "\"last\"",
        ""},
       &RecurrentEncoder::lstm_from_config},
      {{"encoder", "gru", "GRU with locked dropouts; pooling \"last\"", ""},
       &RecurrentEncoder::gru_from_config},
      {{"encoder", "transformer",
        "Linear projection, positions, Transformer encoder (Vaswani et al. 2017); pooling "
        "\"mean\"",
        ""},
       &TransformerSequenceEncoder::from_config},
  });
  return list;
}

}  // namespace

EncoderFactory encoder_from_config(const Config& parent, const std::string& key,
                                   std::string* type) {
  return registry().from_config(parent, key, "lstm", type);
}

std::vector<std::string> encoder_names() {
  return registry().names();
}

std::vector<RegistryEntry> list_encoders() {
  return registry().list();
}

}  // namespace heed::nn
