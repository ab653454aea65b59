// The model registry: every model a recipe can name under "model.type", one explicit list.

#include <cmath>

#include "framework/autograd.h"
#include "framework/random.h"
#include "framework/registry.h"
#include "layers/attention/alignment.h"
#include "layers/attention/registry.h"
#include "layers/encoders/encoder.h"
#include "layers/models/image_classifier.h"
#include "layers/models/image_layers.h"
#include "layers/models/language_model.h"
#include "layers/models/seq2seq.h"
#include "layers/models/sequence_classifier.h"
#include "layers/poolings/pooling.h"

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
        "encoder (an encoder part, default \"lstm\"); pooling (a pooling part, default the "
        "encoder's: \"last\" after rnn/lstm/gru, \"mean\" after transformer); dropout (0, [0, 1]); "
        "label_smoothing (0, [0, 1]) (the parts and their options: below)"},
       [](const Config& c, const DataInfo& info, Generator& gen) -> std::shared_ptr<Model> {
         return std::make_shared<nn::SequenceClassifier>(c, info, gen);
       }},
      {{"model", "image_classifier",
        "[batch, *input] -> class; a list of layers (conv, pooling, batch norm, SE, CBAM, "
        "linear, ...) as nn.Sequential, then a Linear head; cross-entropy",
        "layers (required, a list of {\"type\": a part of kind layer, its options}: listed "
        "below), label_smoothing (0, [0, 1])"},
       [](const Config& c, const DataInfo& info, Generator& gen) -> std::shared_ptr<Model> {
         return std::make_shared<nn::ImageClassifier>(c, info, gen);
       }},
      {{"model", "language_model",
        "tokens [batch, seq] -> the next token at each position; Embedding, LSTM, GRU, RNN or "
        "causal Transformer encoder, Linear head or tied to the embedding; cross-entropy over "
        "the non-<pad> targets, token_accuracy",
        "embedding_size (rnn/lstm/gru: 128, [1, 2^20]), dropout (0, [0, 1]), tie_weights "
        "(false; needs the encoder's width == embedding_size), label_smoothing (0, [0, 1]); "
        "encoder.type (\"lstm\" | \"gru\" | \"rnn\" | \"transformer\"); rnn/lstm/gru: "
        "hidden_size (128, [1, 2^20]), num_layers (1, [1, 1024]), dropout (0, [0, 1]), "
        "locked_dropout (false), weight_drop (0, [0, 1)), nonlinearity (rnn: \"tanh\" | "
        "\"relu\"); transformer: d_model (64, [1, 2^20], divisible by nhead), nhead (4, "
        "[1, 2^20]), num_layers (2, [1, 1024]), dim_feedforward (4 d_model, [1, 2^20]), dropout "
        "(0.1, [0, 1]), activation (\"gelu\" | \"relu\"), norm_first (true), final_norm "
        "(norm_first), attention (any variant, under a causal mask), positional (\"learned\" | "
        "\"sinusoidal\" | \"rope\" | \"alibi\" | \"none\")"},
       [](const Config& c, const DataInfo& info, Generator& gen) -> std::shared_ptr<Model> {
         return std::make_shared<nn::LanguageModel>(c, info, gen);
       }},
      {{"model", "seq2seq",
        "tokens [batch, source_len] -> tokens [batch, target_len]; RNN encoder, RNN-cell "
        "decoder with teacher forcing and additive attention or none; cross-entropy over the "
        "non-<pad> targets, token_accuracy",
        "encoder: type (\"lstm\" | \"gru\"), embedding_size (64, [1, 2^20]), hidden_size (128, "
        "[1, 2^20]), num_layers (1, [1, 1024]), dropout (0, [0, 1]), bidirectional (true); "
        "decoder: type (\"lstm\" | \"gru\"), embedding_size (64, [1, 2^20]); attention "
        "(\"additive\" | \"none\"; additive: hidden_size (the decoder's width, [1, 2^20]), "
        "dropout (0, [0, 1])); label_smoothing (0, [0, 1])"},
       [](const Config& c, const DataInfo& info, Generator& gen) -> std::shared_ptr<Model> {
         return std::make_shared<nn::Seq2Seq>(c, info, gen);
       }},
  };
  return list;
}

// Two examples shaped as `info` says: features are zeros [2, *input_shape]; token inputs and
// targets hold <unk> at every one of max_len = input_shape[0] steps (not <pad>, which a token loss
// ignores: a batch of nothing but padding has no loss), with full lengths for variable-length
// data; class targets are class 0.
Batch probe_batch(const DataInfo& info) {
  const int64_t len = info.input_shape.empty() ? 1 : info.input_shape[0];
  const Tensor tokens =
      Tensor::from_vector_i64(std::vector<int64_t>(2 * len, Vocabulary::kUnk), {2, len});
  const Tensor lengths = Tensor::from_vector_i64({len, len}, {2});
  Batch batch;
  if (info.input_kind == InputKind::Tokens) {
    batch.input = tokens;
    if (info.variable_length) batch.input_lengths = lengths;
  } else {
    Shape shape{2};
    shape.insert(shape.end(), info.input_shape.begin(), info.input_shape.end());
    batch.input = Tensor::zeros(shape);
  }
  if (info.target_kind == TargetKind::Tokens) {
    batch.target = tokens;
    if (info.variable_length) batch.target_lengths = lengths;
  } else {
    batch.target = Tensor::zeros({2}, Dtype::Int64);
  }
  return batch;
}

// Runs the model once on a batch of two zero examples, in eval mode and without gradients, so
// that what would fail at the first step (a part whose input does not fit, a degenerate option
// that makes the loss NaN) fails while the recipe is read, as `--dry-run` promises. Eval mode
// moves no running statistic and draws no dropout mask; the generator is restored all the same,
// so that a run's random stream never depends on the probe.
ModelOutput probe(Model& model, const DataInfo& info, Generator& gen) {
  const auto state = gen.state();
  NoGradGuard no_grad;
  model.eval();
  ModelOutput out = model.forward(probe_batch(info));
  model.train();
  gen.set_state(state);
  const float loss = out.loss.item();
  HEED_CHECK(std::isfinite(loss), "the loss of a batch of zeros is ", loss,
             " instead of a finite number (a degenerate option?)");
  return out;
}

}  // namespace

std::shared_ptr<Model> build_model(const Config& config, const DataInfo& info, Generator& gen) {
  const std::string name = config.require<std::string>("type");
  const Entry& entry = find_entry(entries(), name, "model type", config.path_of("type"));
  return with_recipe_path(config.path(), [&] {
    // Training holds the parameters about 4 times (weights, gradients, two optimizer states):
    // a model beyond a quarter of the memory is refused while it is built, before it fills it.
    const AllocationBudget budget(physical_memory_bytes() / 4,
                                  "the model (training holds its parameters 4 times: weights, "
                                  "gradients, optimizer state)");
    std::shared_ptr<Model> model = entry.build(config, info, gen);
    probe(*model, info, gen);
    return model;
  });
}

std::vector<std::string> model_metric_names(Model& model, const DataInfo& info, Generator& gen) {
  std::vector<std::string> names = {"loss"};
  for (const auto& [name, value] : probe(model, info, gen).metrics) names.push_back(name);
  return names;
}

std::vector<RegistryEntry> list_models() {
  return abouts(entries());
}

std::vector<RegistryEntry> list_parts() {
  std::vector<RegistryEntry> out;
  for (const auto& kind : {nn::list_encoders(), nn::list_poolings(), nn::list_attention(),
                           nn::list_alignments(), nn::list_image_layers()})
    out.insert(out.end(), kind.begin(), kind.end());
  return out;
}

}  // namespace heed
