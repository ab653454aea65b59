// The model registry: every model a recipe can name under "model.type", one explicit list.

#include "framework/registry.h"
#include "layers/models/image_classifier.h"
#include "layers/models/sequence_classifier.h"

namespace heed {

namespace {

struct Entry {
  RegistryEntry about;
  std::shared_ptr<Model> (*build)(const Config&, const DataInfo&, Generator&);
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> list = {
      {{"model", "sequence_classifier",
        "[batch, seq, features] -> class; RNN, LSTM, GRU or Transformer encoder, pooled, Linear "
        "head; cross-entropy",
        "encoder.type (\"rnn\" | \"lstm\" | \"gru\" | \"transformer\"); rnn/lstm/gru: hidden_size, "
        "num_layers, dropout, locked_dropout, bidirectional, weight_drop, input_dropout, "
        "output_dropout, nonlinearity (rnn: \"tanh\" | \"relu\"); "
        "transformer: d_model, "
        "nhead, num_layers, dim_feedforward, dropout, activation, norm_first, attention "
        "(\"scaled_dot_product\" | \"sparsemax\" | \"topk\" | \"hard\" | \"gumbel\" | \"linear\" | "
        "\"cosine\" | \"windowed\"), topk, temperature, hard, window, positional (\"learned\" | "
        "\"sinusoidal\" | \"rope\" | \"alibi\" | \"none\"); pooling (\"last\" | \"mean\" | "
        "\"attention\" | \"query\"), "
        "dropout, label_smoothing"},
       [](const Config& c, const DataInfo& info, Generator& gen) -> std::shared_ptr<Model> {
         return std::make_shared<nn::SequenceClassifier>(c, info, gen);
       }},
      {{"model", "image_classifier",
        "[batch, *input] -> class; a list of layers (conv, pooling, batch norm, SE, CBAM, "
        "linear, ...) as nn.Sequential, then a Linear head; cross-entropy",
        "layers (list of {type, options}: conv1d, conv2d, batch_norm1d, batch_norm2d, relu, gelu, "
        "tanh, sigmoid, max_pool1d, max_pool2d, avg_pool1d, avg_pool2d, adaptive_avg_pool2d, "
        "flatten, linear, dropout, se, cbam), label_smoothing"},
       [](const Config& c, const DataInfo& info, Generator& gen) -> std::shared_ptr<Model> {
         return std::make_shared<nn::ImageClassifier>(c, info, gen);
       }},
  };
  return list;
}

}  // namespace

std::shared_ptr<Model> build_model(const Config& config, const DataInfo& info, Generator& gen) {
  const std::string name = config.require<std::string>("type");
  return find_entry(entries(), name, "model type", config.path_of("type")).build(config, info, gen);
}

std::vector<RegistryEntry> list_models() {
  return abouts(entries());
}

}  // namespace heed
