#pragma once
// SequenceClassifier: a sequence [batch, seq, input_size] -> one class per sequence, trained with
// cross-entropy; the model that the Fashion-MNIST row recipes name ("sequence_classifier"), where
// an image is read as 28 steps of 28-pixel rows. Three parts, each built by name from its
// registry, so an RNN baseline and an attention model differ only in one section of the recipe:
//   "encoder": rnn | lstm | gru | transformer          (layers/encoders/encoder.h)
//   "pooling": last | mean | attention | query         (layers/poolings/pooling.h), by default
//              the encoder's ("last" after an RNN, "mean" after a Transformer); pooling
//              "attention" nests its alignment: {"type": "attention", "attention": "luong_dot"}
// then dropout and a Linear head ("fc") to num_classes logits. The parts' modules and parameters
// are registered as the model's own (layers/part.h), so the state dict reads "lstm.weight_ih_l0",
// "encoder.layers.0...", "pool_query", "pool_decoder...", "pool.weight", "fc.weight".
// Metrics: "accuracy" (fraction of the batch whose argmax is the target). With data of real-valued
// targets (the adding problem) it is a regressor: "loss" "mse" or "huber" (with "huber_delta"),
// a head of DataInfo::num_classes = 1 output, metrics "mse" and "mae" (layers/models/regression.h).

#include "framework/config.h"
#include "framework/registry.h"
#include "layers/dropout.h"
#include "layers/encoders/encoder.h"
#include "layers/linear.h"
#include "layers/models/regression.h"
#include "layers/poolings/pooling.h"

namespace heed::nn {

/// The model section's options, read without building anything (`heed list` describes them).
struct SequenceClassifierOptions {
  std::string encoder_type;
  EncoderFactory encoder;
  /// The pooling the recipe names; empty when it names none, which leaves the choice to the built
  /// encoder (EncoderShape::default_pooling).
  std::string pooling_type;
  PoolingFactory pooling;
  float dropout = 0.f, label_smoothing = 0.f;
  std::string loss = "cross_entropy";  // "cross_entropy" (class targets), "mse" or "huber" (values)
  float huber_delta = 1.f;
  /// Reads the encoder, the pooling and the model's own options; throws heed::RecipeError naming
  /// the recipe path.
  static SequenceClassifierOptions from_config(const Config& c);
};

class SequenceClassifier : public Model {
 public:
  /// Reads the recipe's model section (see docs/recipes.md); throws heed::Error on bad options.
  SequenceClassifier(const Config& config, const DataInfo& info, Generator& gen);
  ModelOutput forward(const Batch& batch) override;
  /// logits [batch, num_classes] for input [batch, seq, input_size]; `lengths` int64 [batch]
  /// (undefined: every step is real) marks the steps t >= lengths[b] as padding, which change
  /// nothing (as if each sequence were run alone). Throws heed::Error on a length outside
  /// [1, seq].
  Tensor logits(const Tensor& input, const Tensor& lengths = Tensor()) const;
  std::string repr() const override;

 private:
  // Registers a part's parameters and modules under their own names, as this model's.
  void adopt(const Part& part);
  std::string encoder_type_, pooling_type_;
  float label_smoothing_;
  std::string loss_;
  float huber_delta_;
  std::unique_ptr<Encoder> encoder_;
  std::unique_ptr<Pooling> pooling_;
  std::shared_ptr<Dropout> dropout_;
  std::shared_ptr<Linear> fc_;
};

}  // namespace heed::nn
