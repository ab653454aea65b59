#include "framework/data.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace heed {

Vocabulary::Vocabulary(const std::vector<std::string>& tokens, bool open) : open_(open) {
  tokens_.reserve(kNumSpecial + tokens.size());
  for (std::string_view special : kSpecialTokens) tokens_.emplace_back(special);
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  for (int64_t i = 0; i < size(); ++i) {
    const std::string& t = tokens_[i];
    HEED_CHECK(!t.empty(), "Vocabulary: token ", i - kNumSpecial, " of ", tokens.size(),
               " is empty");
    const bool fresh = ids_.emplace(t, i).second;
    HEED_CHECK(fresh, "Vocabulary: token \"", t, "\" (", i - kNumSpecial, " of ", tokens.size(),
               ") is ", ids_.at(t) < kNumSpecial ? "a special token" : "given twice");
  }
}

int64_t Vocabulary::id(const std::string& token) const {
  const auto it = ids_.find(token);
  if (it != ids_.end()) return it->second;
  HEED_CHECK(open_, "Vocabulary: unknown token \"", token, "\", and this vocabulary of ", size(),
             " tokens is closed (no <unk> for unknown tokens)");
  return kUnk;
}

const std::string& Vocabulary::token(int64_t id) const {
  HEED_CHECK(id >= 0 && id < size(), "Vocabulary: id ", id, " is outside [0, ", size(), ")");
  return tokens_[id];
}

std::vector<int64_t> Vocabulary::encode(const std::vector<std::string>& tokens, bool bos,
                                        bool eos) const {
  std::vector<int64_t> ids;
  ids.reserve(tokens.size() + 2);
  if (bos) ids.push_back(kBos);
  for (const std::string& t : tokens) ids.push_back(id(t));
  if (eos) ids.push_back(kEos);
  return ids;
}

std::vector<std::string> Vocabulary::decode(const std::vector<int64_t>& ids) const {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int64_t i : ids) out.push_back(token(i));
  return out;
}

void check_lengths(const char* op, const Tensor& lengths, int64_t batch, int64_t max_len) {
  HEED_CHECK(lengths.dtype() == Dtype::Int64 && lengths.shape() == Shape({batch}), op,
             ": lengths must be int64 [batch] = [", batch, "], got ", dtype_name(lengths.dtype()),
             " ", lengths.shape());
  const std::vector<int64_t> len = lengths.to_vector_i64();
  for (int64_t b = 0; b < batch; ++b)
    HEED_CHECK(len[b] >= 1 && len[b] <= max_len, op, ": lengths[", b, "] = ", len[b],
               " is outside [1, ", max_len, "]");
}

Tensor padding_mask(const Tensor& lengths, int64_t max_len) {
  if (!lengths.defined()) return Tensor();
  HEED_CHECK(lengths.dtype() == Dtype::Int64 && lengths.dim() == 1,
             "padding_mask: lengths must be int64 [batch], got ", dtype_name(lengths.dtype()), " ",
             lengths.shape());
  const std::vector<int64_t> len = lengths.to_vector_i64();
  const int64_t batch = lengths.size(0);
  Tensor mask = Tensor::zeros({batch, max_len}, Dtype::Int64);
  int64_t* m = mask.data_i64();
  for (int64_t b = 0; b < batch; ++b) {
    HEED_CHECK(len[b] >= 0 && len[b] <= max_len, "padding_mask: lengths[", b, "] = ", len[b],
               " is outside [0, ", max_len, "]");
    std::fill(m + b * max_len + len[b], m + (b + 1) * max_len, int64_t{1});
  }
  return mask;
}

Tensor Batch::input_padding_mask() const {
  return input_lengths.defined() ? padding_mask(input_lengths, input.size(1)) : Tensor();
}

Tensor Batch::target_padding_mask() const {
  return target_lengths.defined() ? padding_mask(target_lengths, target.size(1)) : Tensor();
}

int64_t Dataset::length(int64_t) const {
  throw Error("dataset: examples of a fixed-size dataset have no length");
}

namespace {

// The sequences `seqs` (none empty) as int64 [batch, longest], `pad` after each one's end, and
// their lengths int64 [batch]. `what` ("input", "target") names the field in errors.
std::pair<Tensor, Tensor> pad_sequences(const std::vector<const std::vector<int64_t>*>& seqs,
                                        int64_t pad, const char* what) {
  const int64_t batch = static_cast<int64_t>(seqs.size());
  int64_t longest = 0;
  for (int64_t b = 0; b < batch; ++b) {
    HEED_CHECK(!seqs[b]->empty(), "collate: example ", b, " of the batch has an empty ", what);
    longest = std::max(longest, static_cast<int64_t>(seqs[b]->size()));
  }
  Tensor padded = Tensor::empty({batch, longest}, Dtype::Int64);
  Tensor lengths = Tensor::empty({batch}, Dtype::Int64);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t* row = padded.data_i64() + b * longest;
    const int64_t n = static_cast<int64_t>(seqs[b]->size());
    std::copy(seqs[b]->begin(), seqs[b]->end(), row);
    std::fill(row + n, row + longest, pad);
    lengths.data_i64()[b] = n;
  }
  return {padded, lengths};
}

}  // namespace

Batch collate(const std::vector<Example>& examples, TargetKind target_kind, int64_t pad) {
  HEED_CHECK(!examples.empty(), "collate: no examples");
  std::vector<const std::vector<int64_t>*> inputs, targets;
  for (const Example& e : examples) {
    inputs.push_back(&e.input);
    targets.push_back(&e.target);
  }
  Batch batch;
  std::tie(batch.input, batch.input_lengths) = pad_sequences(inputs, pad, "input");
  if (target_kind == TargetKind::Tokens) {
    std::tie(batch.target, batch.target_lengths) = pad_sequences(targets, pad, "target");
    return batch;
  }
  const int64_t n = static_cast<int64_t>(examples.size());
  batch.target = Tensor::empty({n}, Dtype::Int64);
  for (int64_t b = 0; b < n; ++b) {
    HEED_CHECK(examples[b].target.size() == 1, "collate: example ", b,
               " of the batch has a class target of ", examples[b].target.size(),
               " ids, expected one");
    batch.target.data_i64()[b] = examples[b].target[0];
  }
  return batch;
}

Batch ExampleDataset::get(const std::vector<int64_t>& indices) const {
  std::vector<Example> examples;
  examples.reserve(indices.size());
  for (int64_t i : indices) {
    HEED_CHECK(i >= 0 && i < size(), "dataset: index ", i, " is outside [0, ", size(), ")");
    examples.push_back(example(i));
  }
  return collate(examples, target_kind_);
}

int64_t ExampleDataset::length(int64_t index) const {
  const Example e = example(index);
  const size_t target = target_kind_ == TargetKind::Tokens ? e.target.size() : 0;
  return static_cast<int64_t>(std::max(e.input.size(), target));
}

}  // namespace heed
