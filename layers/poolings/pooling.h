#pragma once
// Poolings: an encoder's [batch, seq, features] -> one vector per sequence [batch, width], built
// by name from one registry (layers/poolings/registry.cpp):
//   last        LastPooling (last.h): the last step (a bidirectional RNN's reverse half: step 0)
//   mean        MeanPooling (mean.h): the mean over steps
//   attention   AttentionPooling (attention.h): the last step attends over every step through an
//               alignment (additive, Luong: layers/attention/alignment.h)
//   query       QueryPooling (query.h): a learned query cross-attends through a Transformer
//               decoder layer (Transformer encoders only)
// A recipe names one as a string or an object with its options:
//   "pooling": "mean"
//   "pooling": {"type": "attention", "attention": {"type": "luong_general"}, "concat_query": false}
// absent, the encoder's default (rnn/lstm/gru "last", transformer "mean"). An option the chosen
// pooling does not read is an error naming the poolings that have it.

#include "layers/encoders/encoder.h"
#include "layers/part.h"

namespace heed::nn {

class Pooling : public Part {
 public:
  /// h [batch, seq, features] -> [batch, width]. `lengths` int64 [batch] (undefined: every step
  /// is real) as the encoder's: steps t >= lengths[b] are padding, which change nothing in the
  /// result nor receive gradient.
  virtual Tensor forward(const Tensor& h, const Tensor& lengths) const = 0;
  int64_t width = 0;
};

/// Each sequence's last real step: h [batch, seq, features] -> [batch, features], h[b,
/// lengths[b] - 1] (undefined lengths: the last step). A sum over steps of h with every other
/// step zeroed, so the padding's gradient is zero and a NaN there cannot leak in.
Tensor last_steps(const Tensor& h, const Tensor& lengths);

using PoolingFactory = std::function<std::unique_ptr<Pooling>(const EncoderShape&, Generator&)>;

/// Reads the pooling at `parent`.`key` (absent: `fallback_type`), checking the name and every
/// option; throws heed::RecipeError naming the recipe path. `type` receives the name.
PoolingFactory pooling_from_config(const Config& parent, const std::string& fallback_type,
                                   const std::string& key = "pooling", std::string* type = nullptr);

std::vector<std::string> pooling_names();
std::vector<RegistryEntry> list_poolings();

}  // namespace heed::nn
