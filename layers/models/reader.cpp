#include "layers/models/reader.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "framework/inspect.h"
#include "framework/ops.h"
#include "layers/models/token_loss.h"

namespace heed::nn {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Added to each token's probability before the log: a token the passage does not hold (P = 0)
// gets the score log(1e-8) instead of -inf, which cross-entropy could not take.
constexpr float kFloor = 1e-8f;

// Rows of token ids, each padded with <pad> to the longest, as int64 [rows, longest] and the
// lengths int64 [rows].
std::pair<Tensor, Tensor> pad_rows(const std::vector<std::vector<int64_t>>& rows) {
  size_t longest = 0;
  for (const auto& r : rows) longest = std::max(longest, r.size());
  std::vector<int64_t> ids(rows.size() * longest, Vocabulary::kPad), lengths;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy(rows[i].begin(), rows[i].end(), ids.begin() + static_cast<ptrdiff_t>(i * longest));
    lengths.push_back(static_cast<int64_t>(rows[i].size()));
  }
  const auto n = static_cast<int64_t>(rows.size());
  return {Tensor::from_vector_i64(ids, {n, static_cast<int64_t>(longest)}),
          Tensor::from_vector_i64(lengths, {n})};
}

// float32 [batch, T, vocab]: 1 where passage[b, t] is token v. The answer's probability is
// p [batch, 1, T] times it: the attention-sum over the positions that hold each token.
Tensor one_hot(const Tensor& passage, int64_t vocab) {
  const std::vector<int64_t> ids = passage.to_vector_i64();
  std::vector<float> hot(ids.size() * static_cast<size_t>(vocab), 0.f);
  for (size_t i = 0; i < ids.size(); ++i) hot[i * static_cast<size_t>(vocab) + ids[i]] = 1.f;
  return Tensor::from_vector(hot, {passage.size(0), passage.size(1), vocab});
}

}  // namespace

ReaderOptions ReaderOptions::from_config(const Config& c) {
  ReaderOptions o;
  o.embedding_size = c.get<int64_t>("embedding_size", o.embedding_size, range::size);
  o.hidden_size = c.get<int64_t>("hidden_size", o.hidden_size, range::size);
  o.modeling_layers = c.get<int64_t>("modeling_layers", o.modeling_layers, range::layers);
  o.attention = c.choice("attention", o.attention, {"bidaf", "coattention", "none"});
  o.dropout = c.get<float>("dropout", 0.f, range::probability);
  c.finish();
  return o;
}

ReaderInput split_at_delimiter(const Batch& batch, int64_t delimiter) {
  const int64_t rows = batch.size(), seq = batch.input.size(1);
  const std::vector<int64_t> ids = batch.input.to_vector_i64();
  const std::vector<int64_t> targets = batch.target.to_vector_i64();
  const std::vector<int64_t> lengths = batch.input_lengths.defined()
                                           ? batch.input_lengths.to_vector_i64()
                                           : std::vector<int64_t>(static_cast<size_t>(rows), seq);
  std::vector<std::vector<int64_t>> passages, questions;
  std::vector<int64_t> answers;
  for (int64_t b = 0; b < rows; ++b) {
    const auto row = ids.begin() + b * seq;
    const auto end = row + lengths[static_cast<size_t>(b)];
    const auto at = std::find(row, end, delimiter);
    HEED_CHECK(at != end && at != row && at + 1 != end, "reader: row ", b,
               " of the batch needs a passage, the delimiter \"|\" and a question; it has ",
               at == end   ? "no delimiter"
               : at == row ? "no passage"
                           : "no question");
    passages.emplace_back(row, at);
    questions.emplace_back(at + 1, end);
    const int64_t answer = targets[static_cast<size_t>(b * seq + (end - row) - 1)];
    HEED_CHECK(answer != Vocabulary::kPad, "reader: row ", b,
               " has no answer (<pad> is the target of its last step): the reader answers one "
               "token per example, the last step's target (associative_recall, context_recall)");
    answers.push_back(answer);
  }
  ReaderInput r;
  std::tie(r.passage, r.passage_lengths) = pad_rows(passages);
  std::tie(r.question, r.question_lengths) = pad_rows(questions);
  r.answer = Tensor::from_vector_i64(answers, {rows});
  return r;
}

Reader::Reader(const Config& c, const DataInfo& info, Generator& gen) {
  HEED_CHECK(info.input_kind == InputKind::Tokens && info.target_kind == TargetKind::Tokens &&
                 info.input_vocab.has_value() && info.input_vocab->contains("|"),
             "reader: needs token inputs and targets whose vocabulary holds the delimiter \"|\" "
             "between passage and question (synthetic associative_recall, context_recall)");
  vocab_ = info.input_vocab->size();
  HEED_CHECK(info.num_classes == vocab_, "reader: the target vocabulary (", info.num_classes,
             " tokens) must be the input's (", vocab_, " tokens): the answer is a passage token");
  delimiter_ = info.input_vocab->id("|");
  const ReaderOptions o = ReaderOptions::from_config(c);
  attention_ = o.attention;
  const int64_t hidden = o.hidden_size, width = 2 * hidden;  // a bidirectional LSTM's output
  // Built in the order of the layers, so a run's initial weights follow them.
  with_recipe_path(c.path(), [&] {
    embedding_ =
        register_module("embedding", std::make_shared<Embedding>(vocab_, o.embedding_size, gen));
    dropout_ = register_module("dropout", std::make_shared<Dropout>(o.dropout, gen));
    RNNOptions e{.input_size = o.embedding_size, .hidden_size = hidden, .bidirectional = true};
    encoder_ = register_module("encoder", std::make_shared<LSTM>(e, gen));
    int64_t g = 2 * width;  // "none": [h; mean u]
    if (attention_ == "bidaf") {
      bidaf_ = register_module("attention", std::make_shared<BiDAFAttention>(width, gen));
      g = 4 * width;
    } else if (attention_ == "coattention") {
      coattention_ = register_module("attention", std::make_shared<Coattention>(width, gen));
      g = 3 * width;
    }
    RNNOptions m{.input_size = g,
                 .hidden_size = hidden,
                 .num_layers = o.modeling_layers,
                 .bidirectional = true};
    modeling_ = register_module("modeling", std::make_shared<LSTM>(m, gen));
    pointer_ = register_module("pointer", std::make_shared<Linear>(g + width, 1, gen));
  });
}

Tensor Reader::attend(const Tensor& h, const Tensor& u, const Tensor& passage_mask,
                      const Tensor& question_mask, const Tensor& question_lengths) const {
  if (bidaf_) return bidaf_->forward(h, u, passage_mask, question_mask).output;
  if (coattention_)
    return ops::concat({h, coattention_->forward(h, u, passage_mask, question_mask).output}, -1);
  // The question's mean encoding, beside every passage position: [batch, 1, J] weights 1 / J_b
  // on the real positions.
  const int64_t rows = u.size(0), len = u.size(1);
  const std::vector<int64_t> lengths = question_lengths.to_vector_i64();
  std::vector<float> w(static_cast<size_t>(rows * len), 0.f);
  for (int64_t b = 0; b < rows; ++b)
    std::fill_n(w.begin() + b * len, lengths[static_cast<size_t>(b)],
                1.f / static_cast<float>(lengths[static_cast<size_t>(b)]));
  const Tensor mean = ops::matmul(Tensor::from_vector(w, {rows, 1, len}), u);
  return ops::concat({h, mean.expand({rows, h.size(1), u.size(2)})}, -1);
}

Tensor Reader::answer_logits(const ReaderInput& r) const {
  const int64_t rows = r.passage.size(0), len = r.passage.size(1);
  const Tensor passage_mask = padding_mask(r.passage_lengths, len);
  const Tensor question_mask = padding_mask(r.question_lengths, r.question.size(1));
  const Tensor h =
      encoder_->forward(dropout_->forward(embedding_->forward(r.passage)), r.passage_lengths)
          .output;
  const Tensor u =
      encoder_->forward(dropout_->forward(embedding_->forward(r.question)), r.question_lengths)
          .output;
  const Tensor g = dropout_->forward(attend(h, u, passage_mask, question_mask, r.question_lengths));
  const Tensor m = dropout_->forward(modeling_->forward(g, r.passage_lengths).output);
  const Tensor scores = pointer_->forward(ops::concat({g, m}, -1)).reshape({rows, len});
  const Tensor p = ops::softmax(ops::masked_fill(scores, passage_mask, kNegInf), -1);
  Inspector::record_attention(*pointer_, p.reshape({rows, 1, 1, len}));
  const Tensor prob = ops::matmul(p.reshape({rows, 1, len}), one_hot(r.passage, vocab_));
  return ops::log(prob.reshape({rows, vocab_}) + kFloor);
}

ModelOutput Reader::forward(const Batch& batch) {
  HEED_CHECK(batch.input.dim() == 2 && batch.target.shape() == batch.input.shape(),
             "reader: needs input and target int64 [batch, seq] of one shape, got ",
             batch.input.shape(), " and ", batch.target.shape());
  const ReaderInput r = split_at_delimiter(batch, delimiter_);
  return token_output(answer_logits(r), r.answer.reshape({-1, 1}), 0.f);
}

std::string Reader::repr() const {
  return "Reader(attention=" + attention_ + ", vocab=" + std::to_string(vocab_) +
         ", hidden_size=" + std::to_string(encoder_->options.hidden_size) + ")";
}

}  // namespace heed::nn
