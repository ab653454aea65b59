#include "layers/models/sequence_classifier.h"

#include "layers/models/classification.h"

namespace heed::nn {

SequenceClassifierOptions SequenceClassifierOptions::from_config(const Config& c) {
  SequenceClassifierOptions o;
  o.encoder = encoder_from_config(c, "encoder", &o.encoder_type);
  // heed list describes the pooling with its own default (list_models notes the encoder's).
  if (c.has("pooling") || c.describing())
    o.pooling = pooling_from_config(c, "last", "pooling", &o.pooling_type);
  o.label_smoothing = c.get<float>("label_smoothing", 0.f, range::probability);
  o.dropout = c.get<float>("dropout", 0.f, range::probability);
  o.loss = c.choice("loss", "cross_entropy", {"cross_entropy", "mse", "huber"});
  o.huber_delta = c.get<float>("huber_delta", 1.f, range::positive);
  c.finish();
  return o;
}

SequenceClassifier::SequenceClassifier(const Config& c, const DataInfo& info, Generator& gen) {
  HEED_CHECK(info.input_shape.size() == 2,
             "sequence_classifier: needs inputs of [seq, features] per example, got ",
             info.input_shape, " (for images, use data.layout \"rows\")");
  const SequenceClassifierOptions o = SequenceClassifierOptions::from_config(c);
  const bool values = info.target_kind == TargetKind::Value;
  HEED_RECIPE_CHECK(values == (o.loss != "cross_entropy"), c.path_of("loss"), " is \"", o.loss,
                    "\", but the data's targets are ",
                    values ? "real values (a regression): set it to \"mse\" or \"huber\""
                           : "classes: leave it \"cross_entropy\"");
  loss_ = o.loss;
  huber_delta_ = o.huber_delta;
  encoder_type_ = o.encoder_type;
  encoder_ = with_recipe_path(c.path_of("encoder"), [&] {
    return o.encoder({info.input_shape[0], info.input_shape[1]}, gen);
  });
  pooling_type_ = o.pooling_type;
  const PoolingFactory make_pooling =
      o.pooling
          ? o.pooling
          : pooling_from_config(c, encoder_->shape.default_pooling, "pooling", &pooling_type_);
  pooling_ = make_pooling(encoder_->shape, gen);
  adopt(*encoder_);
  adopt(*pooling_);
  label_smoothing_ = o.label_smoothing;
  dropout_ = register_module("dropout", std::make_shared<Dropout>(o.dropout, gen));
  fc_ = register_module("fc", with_recipe_path(c.path(), [&] {
                          return std::make_shared<Linear>(pooling_->width, info.num_classes, gen);
                        }));
}

void SequenceClassifier::adopt(const Part& part) {
  for (const auto& [name, value] : part.parameters()) register_parameter(name, value);
  for (const auto& [name, module] : part.modules()) register_module(name, module);
}

Tensor SequenceClassifier::logits(const Tensor& input, const Tensor& lengths) const {
  const Tensor h = encoder_->forward(input, lengths);
  return fc_->forward(dropout_->forward(pooling_->forward(h, lengths)));
}

ModelOutput SequenceClassifier::forward(const Batch& batch) {
  const Tensor out = logits(batch.input, batch.input_lengths);
  if (loss_ != "cross_entropy")
    return regression_output(*this, out, batch.target, {loss_, huber_delta_});
  return classification_output(*this, out, batch.target, label_smoothing_);
}

std::string SequenceClassifier::repr() const {
  return "SequenceClassifier(encoder=" + encoder_type_ + ", pooling=" + pooling_type_ + ")";
}

}  // namespace heed::nn
