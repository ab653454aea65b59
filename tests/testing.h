#pragma once
// Small helpers that many test files need: fixed random inputs and parameters, the message of the
// heed::Error a call throws, and a module's parameter names.

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "framework/error.h"
#include "framework/module.h"
#include "framework/random.h"

namespace heed::testing {

/// U(low, high) values of `shape` from a generator of their own, so that a test's input depends on
/// its seed alone (not on what was drawn before it).
inline Tensor rnd(const Shape& shape, uint64_t seed, float low = -1.f, float high = 1.f) {
  Generator gen(seed);
  return Tensor::rand(shape, gen, low, high);
}

/// An int64 padding mask [batch, len] (nonzero = padding): the last `padded` positions of the last
/// batch item, the others real.
inline Tensor last_item_padding(int64_t batch, int64_t len, int64_t padded = 2) {
  Tensor m = Tensor::zeros({batch, len}, Dtype::Int64);
  for (int64_t j = len - padded; j < len; ++j) m.data_i64()[(batch - 1) * len + j] = 1;
  return m;
}

/// Overwrites every parameter of `m` with U(-scale, scale): zero-initialized biases and the ones of
/// a LayerNorm would leave parts of the gradients untested.
template <class M>
std::shared_ptr<M> randomized(std::shared_ptr<M> m, uint64_t seed, float scale = 0.5f) {
  Generator gen(seed);
  for (const auto& [name, p] : m->named_parameters())
    p.copy_(Tensor::rand(p.shape(), gen, -scale, scale));
  return m;
}

/// The message of the heed::Error that `fn` throws. Throwing none is a test failure (and the
/// message "(no heed::Error thrown)").
inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  FAIL_CHECK("expected a heed::Error, none was thrown");
  return "(no heed::Error thrown)";
}

/// The names of the parameters of `m` (with `buffers`, of its whole state_dict), in order.
inline std::vector<std::string> names(const Module& m, bool buffers = false) {
  std::vector<std::string> out;
  for (const auto& [name, t] : buffers ? m.state_dict() : m.named_parameters()) out.push_back(name);
  return out;
}

}  // namespace heed::testing
