#pragma once
// The data contract: what a dataset serves (Batch), what it says about its data so that a model
// can size itself (DataInfo, Vocabulary), and how variable-length examples become one padded batch
// (Example, ExampleDataset, collate). framework/loader.h orders any Dataset into batches.
//
// Two kinds of dataset:
// - fixed-size (Fashion-MNIST): a Dataset whose get() builds the whole batch itself; its Batch has
//   `input` and `target`, and its lengths are undefined, which means "every example is full".
// - variable-length (token sequences: grapheme-to-phoneme, character language modeling, synthetic
//   sequence tasks): an ExampleDataset returns one Example (token ids) at a time, and its get()
//   collates them: each batch is padded to its own longest example with <pad> (id 0), and
//   input_lengths / target_lengths say where each example ends. This is PyTorch's
//   Dataset.__getitem__ + DataLoader(collate_fn) with pad_sequence(batch_first=True).
//
// Padding masks follow layers/attention: int64 [batch, max_len], nonzero = padding (PyTorch's
// key_padding_mask). Undefined lengths give an undefined mask, which the layers read as "nothing
// is padded" (as the RNNs read undefined lengths), so a model written for padded batches runs
// fixed-size ones unchanged:
//   auto [out, h_n, c_n] = lstm.forward(embedding.forward(batch.input), batch.input_lengths);
//   auto [y, weights] = attention.forward(x, x, x, batch.input_padding_mask());

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "framework/tensor.h"

namespace heed {

/// Tokens <-> ids. The four special tokens have the same ids in every vocabulary, and the ordinary
/// tokens follow from id 4 in the order given:
///   <pad> 0   padding: collate fills with it, the padding masks mark it
///   <s>   1   begin of sequence: a decoder's first input
///   </s>  2   end of sequence: what a decoder learns to emit last
///   <unk> 3   a token the vocabulary does not hold, in an open vocabulary
/// An open vocabulary (a text's characters) encodes a token it does not hold as <unk>; a closed one
/// (CMUdict's phonemes, where an unknown symbol is a data error) throws naming the token. This is
/// torchtext's Vocab with and without set_default_index(<unk>). Id 3 is reserved in both, so a
/// model's sizes do not depend on the choice.
///
///   Vocabulary v({"a", "b"});                  // size 6: <pad> <s> </s> <unk> a b
///   v.encode({"b", "z"}, true, true);          // {1, 5, 3, 2}
///   v.decode({1, 5, 3, 2});                    // {"<s>", "b", "<unk>", "</s>"}
class Vocabulary {
 public:
  static constexpr int64_t kPad = 0, kBos = 1, kEos = 2, kUnk = 3, kNumSpecial = 4;
  static constexpr std::array<std::string_view, 4> kSpecialTokens = {"<pad>", "<s>", "</s>",
                                                                     "<unk>"};

  /// The four special tokens alone, open.
  Vocabulary() : Vocabulary(std::vector<std::string>{}) {}
  /// The special tokens, then `tokens` at ids 4, 5, ... Throws heed::Error on an empty token, a
  /// duplicate, or a token spelled like a special one.
  explicit Vocabulary(const std::vector<std::string>& tokens, bool open = true);

  /// Ids 0 .. size() - 1 (the special tokens included).
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  /// True when an unknown token encodes as <unk>, false when it is an error.
  bool open() const { return open_; }
  bool contains(const std::string& token) const { return ids_.count(token) != 0; }
  /// The id of `token`: <unk>'s for an unknown token of an open vocabulary; throws heed::Error
  /// naming the token in a closed one.
  int64_t id(const std::string& token) const;
  /// The token of `id`; throws heed::Error unless 0 <= id < size().
  const std::string& token(int64_t id) const;
  /// Every token by id, the special tokens first.
  const std::vector<std::string>& tokens() const { return tokens_; }

  /// The ids of `tokens`, after <s> when `bos` and followed by </s> when `eos`.
  std::vector<int64_t> encode(const std::vector<std::string>& tokens, bool bos = false,
                              bool eos = false) const;
  /// The token of each id, special tokens included.
  std::vector<std::string> decode(const std::vector<int64_t>& ids) const;

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> ids_;
  bool open_ = true;
};

/// How a batch's input is encoded: float32 features [batch, *input_shape], or int64 token ids
/// [batch, len] of DataInfo::input_vocab.
enum class InputKind { Features, Tokens };
/// How a batch's target is encoded: one int64 class id per example [batch], int64 token ids
/// [batch, len] of DataInfo::target_vocab, or one float32 value per example [batch] (regression).
enum class TargetKind { Class, Tokens, Value };

/// What a model needs to know about its data to size itself. Field order is fixed:
/// `DataInfo{{28, 28}, 10}` must keep working.
struct DataInfo {
  /// One example's input: [28, 28] (28 steps of 28 features) or [1, 28, 28] for features; for
  /// tokens [max_len], the longest input a batch can hold (positional tables size to it).
  Shape input_shape;
  int64_t num_classes = 0;  // output classes, the target vocabulary's size, or 1 (a value)
  InputKind input_kind = InputKind::Features;
  TargetKind target_kind = TargetKind::Class;
  /// True when examples differ in length: batches carry input_lengths (and target_lengths with
  /// token targets), and the loader can bucket by length (data.bucket_by_length).
  bool variable_length = false;
  std::vector<std::string> class_names{};   // num_classes names for class targets, or empty
  std::optional<Vocabulary> input_vocab{};  // with token inputs
  std::optional<Vocabulary>
      target_vocab{};  // with token targets (a language model's is the input's)
  /// True when the splits are laid out as streams, one per row of a batch, and served in order
  /// (the text dataset's data.carry_state, datasets/text.h): row r of batch k + 1 continues row r
  /// of batch k, so a recurrent model may start it from the state where that row ended.
  bool carry_state = false;
};

/// int64 [batch, max_len]: 1 at the steps t >= lengths[b] (padding), 0 at the real ones; the
/// convention of layers/attention's masks (nonzero = masked). Undefined when `lengths` is.
/// Throws heed::Error unless `lengths` is int64 [batch] with every length in [0, max_len].
Tensor padding_mask(const Tensor& lengths, int64_t max_len);

/// Throws heed::Error naming `op` unless `lengths` is int64 [batch] with every length in
/// [1, max_len] (a sequence of no step has no output to pool or attend from).
void check_lengths(const char* op, const Tensor& lengths, int64_t batch, int64_t max_len);

/// One batch as a dataset serves it. Field order is fixed: `Batch{input, target}` is a fixed-size
/// batch.
///   input   [batch, ...]: float32 features, or int64 token ids [batch, max_input_len]
///   target  [batch] int64 class ids, or int64 token ids [batch, max_target_len]
///   input_lengths, target_lengths  int64 [batch]: where each example's input (target) ends;
///     undefined when every example fills the whole tensor (fixed-size data, class targets).
///     A collated batch (collate) has input_lengths, and target_lengths with token targets; each
///     length is in [1, max_len] and the longest is max_len.
/// Padded positions hold <pad> (Vocabulary::kPad); a loss over tokens skips them by the mask.
struct Batch {
  Tensor input;
  Tensor target;
  Tensor input_lengths{};
  Tensor target_lengths{};

  int64_t size() const { return input.size(0); }
  /// padding_mask(input_lengths, input.size(1)): int64 [batch, max_input_len], nonzero = padding;
  /// undefined for fixed-size data. Pass it as a key_padding_mask.
  Tensor input_padding_mask() const;
  /// padding_mask(target_lengths, target.size(1)): int64 [batch, max_target_len]; undefined when
  /// target_lengths is.
  Tensor target_padding_mask() const;
};

/// A source of examples: size() of them, served as a Batch for any list of indices.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  /// Examples `indices` (each in [0, size())) as one batch, in that order.
  virtual Batch get(const std::vector<int64_t>& indices) const = 0;
  /// True when examples differ in length: then length() gives each one's and batches carry lengths.
  virtual bool variable_length() const { return false; }
  /// Example `index`'s length, the key of length bucketing (framework/loader.h). Throws
  /// heed::Error for a fixed-size dataset.
  virtual int64_t length(int64_t index) const;
};

/// A dataset whose examples come in groups that share one input, each example one reference
/// output for it (a word's pronunciations in G2P): a decoded output is scored once per group,
/// against the group's closest reference (framework/error_rates.h). The groups are consecutive.
class ReferenceGroups {
 public:
  virtual ~ReferenceGroups() = default;
  virtual int64_t num_groups() const = 0;
  /// The examples of group `g` in [0, num_groups()): [first, first + count).
  virtual std::pair<int64_t, int64_t> group(int64_t g) const = 0;
};

/// One example of a variable-length dataset, before padding.
struct Example {
  std::vector<int64_t> input;   // [input_len] token ids
  std::vector<int64_t> target;  // [target_len] token ids, or the one class id
};

/// `examples` padded into one Batch, as PyTorch's pad_sequence(batch_first=True,
/// padding_value=pad): input int64 [batch, longest input] with `pad` after each example's end and
/// input_lengths [batch]; with TargetKind::Tokens the same for target and target_lengths; with
/// TargetKind::Class target [batch] (each example's one id) and target_lengths undefined.
/// Throws heed::Error on no examples, an empty input or target, or a class target that is not one
/// id, naming the example's position in the batch.
Batch collate(const std::vector<Example>& examples, TargetKind target_kind,
              int64_t pad = Vocabulary::kPad);

/// A dataset of variable-length examples served one at a time; get() collates them. A subclass
/// implements size() and example(), and overrides length() when it is cheaper than building the
/// example.
class ExampleDataset : public Dataset {
 public:
  explicit ExampleDataset(TargetKind target_kind) : target_kind_(target_kind) {}
  /// Example `index`, in [0, size()).
  virtual Example example(int64_t index) const = 0;
  /// collate() of the examples; throws heed::Error on an index outside [0, size()).
  Batch get(const std::vector<int64_t>& indices) const override;
  bool variable_length() const override { return true; }
  /// The longer of the example's input and token target: both are padded to their batch's longest.
  int64_t length(int64_t index) const override;
  TargetKind target_kind() const { return target_kind_; }

 private:
  TargetKind target_kind_;
};

/// A dataset's three splits: train fits the parameters, dev selects the model (evaluations during
/// training, reduce-on-plateau, early stopping, best.h5), test is evaluated once at the end.
/// `dev` is null when the recipe asks for no dev split (then nothing selects on data).
struct DataSplits {
  std::shared_ptr<Dataset> train, dev, test;
  DataInfo info;
  /// The recipe's data.bucket_by_length: train batches group examples of similar length
  /// (framework/loader.h, Bucketing). Only for variable-length data.
  bool bucket_by_length = false;
};

}  // namespace heed
