#pragma once
// softmax and log_softmax along one dimension, computed stably (the row maximum is subtracted
// before exponentiating).

#include "framework/tensor.h"

namespace heed::ops {

/// exp(x_i) / sum_j exp(x_j) along `dim`.
Tensor softmax(const Tensor& x, int64_t dim = -1);
/// x_i - log(sum_j exp(x_j)) along `dim`.
Tensor log_softmax(const Tensor& x, int64_t dim = -1);

}  // namespace heed::ops
