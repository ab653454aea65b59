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

/// Variational ("locked") dropout for sequences (Gal & Ghahramani 2016, "A Theoretically Grounded
/// Application of Dropout in Recurrent Neural Networks", NeurIPS, Section 4: the same mask at
/// every time step; Merity et al. 2018, "Regularizing and Optimizing LSTM Language Models", ICLR,
/// Section 4.2, whose LockedDropout this is). In training, one Bernoulli(1 - p) mask per sequence
/// and feature, m [batch, 1, features], scaled by 1/(1-p), multiplies every step:
///   y[b, t, f] = x[b, t, f] * m[b, f] / (1 - p)
/// In eval, the identity. Use it on an RNN's inputs and outputs (the sequence classifier's
/// encoder keys input_dropout and output_dropout) and between stacked layers
/// (RNNOptions::locked_dropout); plain Dropout draws a new mask per step, which for RNNs disturbs
/// what the state carries.
/// The mask comes from the run's generator, so a resumed run draws the same masks.
///
///   x [batch, seq, features] (batch_first) -> y, the same shape.
///   nn::LockedDropout drop(0.3, gen);  Tensor y = drop.forward(x);
class LockedDropout : public Module {
 public:
  /// Throws heed::Error unless 0 <= p <= 1.
  LockedDropout(float p, Generator& gen);
  /// Throws heed::Error unless x is [batch, seq, features].
  Tensor forward(const Tensor& x) const;
  std::string repr() const override;

  const float p;

 private:
  Generator* gen_;
};

/// LockedDropout as a function, for a layer that applies it inside its own forward (the RNNs'
/// between-layer dropout with RNNOptions::locked_dropout): x [batch, seq, features] when
/// batch_first, else [seq, batch, features]; m[b, f] comes from the same numbers in either layout.
/// The identity, with no draw from `gen`, when !training or p == 0, so a model with p = 0 draws
/// the same random numbers as one without the dropout.
Tensor locked_dropout(const Tensor& x, float p, bool training, Generator& gen,
                      bool batch_first = true);

/// Checks a dropout probability where a layer takes one, with the layer's name in the message.
void check_dropout(float p, const char* layer);

}  // namespace heed::nn
