#include "layers/attention/gumbel.h"

#include <sstream>

#include "framework/ops.h"

namespace heed::nn {

GumbelAttention::GumbelAttention(const Options& o, const HeadShape& shape)
    : AttentionMechanism(shape), options(o) {
  HEED_CHECK(o.temperature > 0.f, "gumbel attention: temperature must be positive, got ",
             o.temperature);
}

AttentionFactory GumbelAttention::from_config(const Config& c) {
  Options o;
  o.temperature = c.get<float>("temperature", o.temperature, range::positive);
  o.hard = c.get<bool>("hard", o.hard);
  return [o](const HeadShape& s) { return std::make_unique<GumbelAttention>(o, s); };
}

Tensor GumbelAttention::normalize(const Tensor& scores, const AttentionCall& call) const {
  Tensor logits = scores;
  if (call.training)
    logits = logits + (noise.defined() ? noise : ops::gumbel_noise(scores.shape(), *call.gen));
  const Tensor soft = ops::softmax(logits / options.temperature, -1);
  return options.hard ? ops::straight_through_one_hot(soft) : soft;
}

std::string GumbelAttention::options_repr() const {
  std::ostringstream out;
  out << ", temperature=" << options.temperature << ", hard=" << (options.hard ? "true" : "false");
  return out.str();
}

}  // namespace heed::nn
