#pragma once
// Reader: a two-sequence model, a passage and a question in, one answer token out; the model of
// the two-sequence attention mechanisms (issue 13), bi-directional attention flow (Seo et al.
// 2017) and coattention (Xiong et al. 2017), which need both sequences apart. Recipes name it
// "reader". It reads the token test beds whose input is a passage, the delimiter "|" and a
// question, and whose one answer is the target of the last step: associative_recall and
// context_recall (datasets/synthetic.h), where the passage holds the key-value tables and the
// question a key (and a table's marker).
//
// BiDAF's layers (Seo et al. 2017, section 2; the character embedding left out):
//   split        input [batch, seq] at each row's first "|": passage x [batch, T], question
//                [batch, J], each padded to the batch's longest (<pad> = 0) with its lengths
//   embedding    ("embedding", [vocab, embedding_size]), shared by both, then dropout
//   contextual   a bidirectional LSTM ("encoder", hidden_size per direction), shared by both:
//                h [batch, T, 2 hidden], u [batch, J, 2 hidden]
//   attention    "bidaf": g = BiDAFAttention(h, u) [batch, T, 8 hidden] (layers/attention/
//                bidaf.h); "coattention": g = [h; C^D] [batch, T, 6 hidden], C^D the
//                Coattention of h and u (layers/attention/coattention.h, the DCN's encoder
//                input); "none": g = [h; mean_j u_j] [batch, T, 4 hidden], the question read as
//                one vector, the baseline with no attention between the sequences
//   modeling     a bidirectional LSTM ("modeling", modeling_layers layers) over dropout(g):
//                m [batch, T, 2 hidden]
//   pointer      p = softmax_t(w^T [g_t; m_t] + b) over the real passage positions ("pointer",
//                Linear [1, width(g) + 2 hidden]; BiDAF's p^1, eq. 5), recorded for `heed
//                inspect` as "pointer.weights" [batch, 1, 1, T]
//   answer       P(v) = sum of p_t over the positions t where x_t = v: the attention-sum of
//                Kadlec et al. 2016 ("Text Understanding with the Attention Sum Reader
//                Network", eq. 3), as the answer is a token of the passage; logits [batch,
//                vocab] = log(P(v) + 1e-8), so a token the passage does not hold gets a finite
//                score and cross-entropy over them is -log(P(answer) + 1e-8) up to
//                log(1 + vocab 1e-8)
// Loss: that cross-entropy, the mean over the batch; metrics token_accuracy, cross_entropy,
// perplexity, bits_per_token over the answers (layers/models/token_loss.h), so a reader and a
// language model on the same data report the same numbers.
//
//   {"type": "reader", "attention": "bidaf", "embedding_size": 64, "hidden_size": 64}

#include "framework/config.h"
#include "framework/registry.h"
#include "layers/attention/bidaf.h"
#include "layers/attention/coattention.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/linear.h"
#include "layers/rnn.h"

namespace heed::nn {

/// The model section's options, read without building anything (`heed list` describes them).
struct ReaderOptions {
  int64_t embedding_size = 64, hidden_size = 64, modeling_layers = 2;
  std::string attention = "bidaf";  // "bidaf" | "coattention" | "none"
  float dropout = 0.f;
  /// Throws heed::RecipeError naming the recipe path.
  static ReaderOptions from_config(const Config& c);
};

/// A batch split at the delimiter: passage int64 [batch, T] and question int64 [batch, J], each
/// padded with <pad>, their lengths int64 [batch], and answer int64 [batch] (the target of each
/// row's last real step).
struct ReaderInput {
  Tensor passage, passage_lengths, question, question_lengths, answer;
};

/// Splits each row of `batch` at its first `delimiter`. Throws heed::Error naming the row when
/// it holds no delimiter, nothing before or after it, or a <pad> target at its last step.
ReaderInput split_at_delimiter(const Batch& batch, int64_t delimiter);

class Reader : public Model {
 public:
  /// Reads the recipe's model section (docs/recipes.md); throws heed::RecipeError on bad options
  /// and heed::Error when the data are not token sequences whose vocabulary holds "|".
  Reader(const Config& config, const DataInfo& info, Generator& gen);
  ModelOutput forward(const Batch& batch) override;
  /// logits [batch, vocab] of the answer, log(P(v) + 1e-8) (above).
  Tensor answer_logits(const ReaderInput& input) const;
  std::string repr() const override;

 private:
  // g [batch, T, width] from the passage's and the question's encodings and masks.
  Tensor attend(const Tensor& h, const Tensor& u, const Tensor& passage_mask,
                const Tensor& question_mask, const Tensor& question_lengths) const;
  std::string attention_;
  int64_t vocab_ = 0, delimiter_ = 0;
  std::shared_ptr<Embedding> embedding_;
  std::shared_ptr<Dropout> dropout_;
  std::shared_ptr<LSTM> encoder_, modeling_;
  std::shared_ptr<BiDAFAttention> bidaf_;
  std::shared_ptr<Coattention> coattention_;
  std::shared_ptr<Linear> pointer_;
};

}  // namespace heed::nn
