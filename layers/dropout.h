#pragma once
// Dropout (Srivastava et al. 2014), inverted: in training, zeroes each element with probability p
// and scales the rest by 1/(1-p); in eval, the identity. Shape-preserving. The mask is drawn from
// the run's generator, so a resumed run draws the same masks.

#include "framework/module.h"

namespace heed {
class Generator;
}

namespace heed::nn {

class Dropout : public Module {
 public:
  /// Throws heed::Error unless 0 <= p <= 1.
  Dropout(float p, Generator& gen);
  Tensor forward(const Tensor& x) const;
  std::string repr() const override;

  const float p;

 private:
  Generator* gen_;
};

/// Checks a dropout probability where a layer takes one, with the layer's name in the message.
void check_dropout(float p, const char* layer);

}  // namespace heed::nn
