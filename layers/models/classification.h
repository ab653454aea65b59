#pragma once
// What every classifier returns for a batch: cross-entropy over logits [batch, num_classes]
// against int64 targets [batch] (with label smoothing, Szegedy et al. 2016) and the metric
// "accuracy", the fraction of the batch whose argmax is the target. The logits are recorded for an
// Inspector (framework/inspect.h) as "logits" of `model`, so `heed inspect` shows predictions.

#include "framework/model.h"

namespace heed::nn {

/// Throws heed::Error (from cross_entropy) when logits and targets do not fit.
ModelOutput classification_output(const Module& model, const Tensor& logits, const Tensor& target,
                                  float label_smoothing);

}  // namespace heed::nn
