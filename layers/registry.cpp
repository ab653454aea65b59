// The model registry: every model a recipe can name under "model.type", one explicit list.

#include <algorithm>
#include <cmath>

#include "framework/autograd.h"
#include "framework/random.h"
#include "framework/registry.h"
#include "layers/attention/alignment.h"
#include "layers/attention/registry.h"
#include "layers/decoders/decoder.h"
#include "layers/encoders/encoder.h"
#include "layers/models/image_classifier.h"
#include "layers/models/image_layers.h"
#include "layers/models/language_model.h"
#include "layers/models/reader.h"
#include "layers/models/seq2seq.h"
#include "layers/models/sequence_classifier.h"
#include "layers/poolings/pooling.h"

namespace heed {

namespace {

// How `heed list` shows a model's options beyond what Config::describe records.
struct Listing {
  /// Nested parts ({key, kind}: {"encoder", "encoder"}), each shown as one option (its default
  /// and the names of its kind) rather than as its default's options: the parts' own are listed
  /// with their kind.
  std::vector<std::pair<std::string, std::string>> parts = {};
  /// An object whose "type" changes what else is read ("encoder"), and its types: the options of
  /// each type are listed, an option that only some read marked with them.
  std::string variant_key = "";
  std::vector<std::string> variants = {};
  std::vector<OptionNote> notes = {};  // what the recorded defaults and ranges do not say
};

struct Entry {
  RegistryEntry about;  // `options` is generated from `read` and `listing` (list_models)
  std::shared_ptr<Model> (*build)(const Config&, const DataInfo&, Generator&);
  void (*read)(const Config&);  // the options `build` reads, and nothing else
  Listing listing;
};

template <class M>
std::shared_ptr<Model> build(const Config& c, const DataInfo& info, Generator& gen) {
  return std::make_shared<M>(c, info, gen);
}

template <class Options>
void read_only(const Config& c) {
  Options::from_config(c);
}

const std::vector<Entry>& entries() {
  static const std::vector<Entry> list = {
      {{"model", "sequence_classifier",
        "[batch, seq, features] -> class (or a value); RNN, LSTM, GRU or Transformer encoder, "
        "pooled, Linear head; cross-entropy (or mse, huber on value targets)",
        ""},
       build<nn::SequenceClassifier>,
       read_only<nn::SequenceClassifierOptions>,
       {.parts = {{"encoder", "encoder"}, {"pooling", "pooling"}},
        .notes = {{"pooling",
                   "the encoder's: \"last\" after rnn/lstm/gru, \"mean\" after transformer", ""},
                  {"loss", "",
                   "cross_entropy for class targets, mse or huber for value targets"}}}},
      {{"model", "image_classifier",
        "[batch, *input] -> class; a list of layers (conv, pooling, batch norm, SE, CBAM, "
        "linear, ...) as nn.Sequential, then a Linear head; cross-entropy",
        ""},
       build<nn::ImageClassifier>,
       read_only<nn::ImageClassifierOptions>,
       {.notes = {{"layers", "required",
                   "each {\"type\": a part of kind layer, its options}, listed below"}}}},
      {{"model", "language_model",
        "tokens [batch, seq] -> the next token at each position; Embedding, LSTM, GRU, RNN or "
        "causal Transformer encoder, Linear head or tied to the embedding; cross-entropy over "
        "the non-<pad> targets, token_accuracy",
        ""},
       build<nn::LanguageModel>,
       read_only<nn::LanguageModelOptions>,
       {.parts = {{"encoder.attention", "attention"}},
        .variant_key = "encoder",
        .variants = {"lstm", "gru", "rnn", "transformer"},
        .notes = {{"tie_weights", "", "needs the encoder's width == embedding_size"},
                  {"encoder.dim_feedforward", "4 d_model", ""},
                  {"encoder.final_norm", "norm_first", ""},
                  {"encoder.attention", "", "under a causal mask"}}}},
      {{"model", "seq2seq",
        "tokens [batch, source_len] -> tokens [batch, target_len]; RNN encoder, decoder part "
        "(RNN cell with any alignment or none) with teacher forcing; cross-entropy over the "
        "non-<pad> targets, token_accuracy",
        ""},
       build<nn::Seq2Seq>,
       read_only<nn::Seq2SeqOptions>,
       {.parts = {{"decoder", "decoder"}}}},
      {{"model", "reader",
        "tokens [batch, seq] (a passage, \"|\", a question) -> one answer token of the passage; "
        "BiLSTM encoder, BiDAF or coattention (or none) between passage and question, BiLSTM "
        "modeling, pointer summed per token; cross-entropy, token_accuracy",
        ""},
       build<nn::Reader>,
       read_only<nn::ReaderOptions>,
       {}},
  };
  return list;
}

// `docs` with each of `parts` ("encoder") folded into one option: its type's default and choices.
std::vector<OptionDoc> fold_parts(const std::vector<OptionDoc>& docs,
                                  const std::vector<std::pair<std::string, std::string>>& parts) {
  std::vector<OptionDoc> out;
  for (const OptionDoc& d : docs) {
    bool inside = false;
    for (const auto& [key, kind] : parts) {
      if (d.key == key + ".type")
        out.push_back({key, d.fallback, "a part of kind " + kind + ": " + d.constraint});
      inside = inside || d.key.rfind(key + ".", 0) == 0;
    }
    if (!inside) out.push_back(d);
  }
  return out;
}

// The options `e` reads; with variants (Listing::variants), those of the first, then the others'
// in the order they come, an option that not every variant reads marked with those that do, and
// a default that differs by variant given for each: "num_layers (1 (transformer: 2), ...)".
std::vector<OptionDoc> model_options(const Entry& e) {
  const Listing& l = e.listing;
  if (l.variants.empty()) return fold_parts(Config::describe(e.read), l.parts);
  struct Seen {
    OptionDoc doc;
    std::vector<std::string> readers;
    std::vector<std::pair<std::string, std::string>> other_defaults;  // {variant, default}
  };
  std::vector<Seen> seen;
  for (const std::string& variant : l.variants) {
    const nlohmann::json given = {{l.variant_key, {{"type", variant}}}};
    for (const OptionDoc& d : fold_parts(Config::describe(e.read, given), l.parts)) {
      auto it =
          std::find_if(seen.begin(), seen.end(), [&](const Seen& s) { return s.doc.key == d.key; });
      if (it == seen.end()) {
        seen.push_back({d, {variant}, {}});
        continue;
      }
      it->readers.push_back(variant);
      if (d.fallback != it->doc.fallback) it->other_defaults.emplace_back(variant, d.fallback);
    }
  }
  std::vector<OptionDoc> out;
  for (Seen& s : seen) {
    std::string others;
    for (const auto& [variant, fallback] : s.other_defaults)
      others += (others.empty() ? "" : ", ") + variant + ": " + fallback;
    if (!others.empty()) s.doc.fallback += " (" + others + ")";
    if (s.readers.size() < l.variants.size()) {
      std::string which;
      for (const std::string& v : s.readers) which += (which.empty() ? "" : ", ") + v;
      s.doc.constraint += (s.doc.constraint.empty() ? "" : "; ") + which + " only";
    }
    out.push_back(s.doc);
  }
  return out;
}

// Two examples shaped as `info` says: features are zeros [2, *input_shape]; token inputs and
// targets hold <unk> at every one of max_len = input_shape[0] steps (not <pad>, which a token loss
// ignores: a batch of nothing but padding has no loss), with full lengths for variable-length
// data; class targets are class 0. A vocabulary with the delimiter "|" (the recall test beds)
// gets it at the middle step of the inputs, so that a reader finds a passage and a question.
Batch probe_batch(const DataInfo& info) {
  const int64_t len = info.input_shape.empty() ? 1 : info.input_shape[0];
  const Tensor tokens =
      Tensor::from_vector_i64(std::vector<int64_t>(2 * len, Vocabulary::kUnk), {2, len});
  const Tensor lengths = Tensor::from_vector_i64({len, len}, {2});
  Batch batch;
  if (info.input_kind == InputKind::Tokens) {
    batch.input = tokens.clone();
    if (info.input_vocab && info.input_vocab->contains("|"))
      for (int64_t row = 0; row < 2; ++row)
        batch.input.data_i64()[row * len + len / 2] = info.input_vocab->id("|");
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
    batch.target =
        Tensor::zeros({2}, info.target_kind == TargetKind::Value ? Dtype::Float32 : Dtype::Int64);
  }
  return batch;
}

// Runs the model once on a batch of two zero examples, in eval mode and without gradients, so
// that what would fail at the first step (a part whose input does not fit, a degenerate option
// that makes the loss NaN) fails while the recipe is read, as `--dry-run` promises. Eval mode
// moves no running statistic and draws no dropout mask; the generator is restored all the same,
// so that a run's random stream never depends on the probe. A model that carries state from one
// batch to the next is left carrying none: the probe's batch is no row of the data's streams.
ModelOutput probe(Model& model, const DataInfo& info, Generator& gen) {
  const auto state = gen.state();
  NoGradGuard no_grad;
  model.eval();
  ModelOutput out = model.forward(probe_batch(info));
  model.train();
  gen.set_state(state);
  if (auto* carrier = dynamic_cast<StateCarryingModel*>(&model)) carrier->set_carried_state({}, 0);
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
  // A transducer's evaluation also decodes (Trainer::evaluate, framework/error_rates.h).
  if (dynamic_cast<const SequenceTransducer*>(&model)) names.insert(names.end(), {"per", "wer"});
  return names;
}

std::vector<RegistryEntry> list_models() {
  std::vector<RegistryEntry> out;
  for (const Entry& e : entries()) {
    RegistryEntry about = e.about;
    if (e.read) about.options = options_text(with_notes(model_options(e), e.listing.notes));
    out.push_back(about);
  }
  return out;
}

std::vector<RegistryEntry> list_parts() {
  std::vector<RegistryEntry> out;
  for (const auto& kind : {nn::list_encoders(), nn::list_poolings(), nn::list_decoders(),
                           nn::list_attention(), nn::list_alignments(), nn::list_image_layers()})
    out.insert(out.end(), kind.begin(), kind.end());
  return out;
}

}  // namespace heed
