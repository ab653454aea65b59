#include "layers/decoders/recurrent.h"
#include "layers/decoders/transformer.h"

namespace heed::nn {

namespace {

const PartRegistry<DecoderFactory>& registry() {
  static const PartRegistry<DecoderFactory> list({
      {{"decoder", "lstm",
        "LSTMCell from the encoder's final states, with any alignment or none (Bahdanau et al. "
        "2015)",
        ""},
       &RecurrentDecoder::lstm_from_config},
      {{"decoder", "gru",
        "GRUCell from the encoder's final states, with any alignment or none (Bahdanau et al. "
        "2015)",
        ""},
       &RecurrentDecoder::gru_from_config},
      {{"decoder", "transformer",
        "Transformer decoder layers: causal self-attention, cross-attention to the encoder's "
        "outputs, feed-forward (Vaswani et al. 2017)",
        ""},
       &TransformerSeqDecoder::from_config},
  });
  return list;
}

}  // namespace

DecoderFactory decoder_from_config(const Config& parent, const std::string& key,
                                   std::string* type) {
  return registry().from_config(parent, key, "lstm", type);
}

std::vector<std::string> decoder_names() {
  return registry().names();
}

std::vector<RegistryEntry> list_decoders() {
  return registry().list();
}

}  // namespace heed::nn
