#include "layers/attention/entmax.h"

#include <cmath>
#include <sstream>

#include "framework/ops.h"

namespace heed::nn {

namespace {

constexpr float kMinAlpha = 1.01f;  // the AlphaChooser's clamp: alpha -> 1 is ill-conditioned

// pre_alpha with 1 + sigmoid(pre_alpha) = alpha.
Tensor initial_pre_alpha(const EntmaxAttention::Options& o, int64_t heads) {
  HEED_CHECK(o.alpha > kMinAlpha && o.alpha < 2.f,
             "entmax attention: alpha must be in (1.01, 2), got ", o.alpha);
  HEED_CHECK(o.n_iter >= 1, "entmax attention: n_iter must be at least 1, got ", o.n_iter);
  const float a = o.alpha - 1.f;
  return Tensor::full({heads, 1, 1}, std::log(a / (1.f - a)));
}

}  // namespace

EntmaxAttention::EntmaxAttention(const Options& o, const HeadShape& shape)
    : AttentionMechanism(shape),
      options(o),
      pre_alpha(o.learn_alpha ? add_parameter("pre_alpha", initial_pre_alpha(o, shape.num_heads))
                              : initial_pre_alpha(o, shape.num_heads)) {}

AttentionFactory EntmaxAttention::from_config(const Config& c) {
  Options o;
  o.alpha = c.get<float>("alpha", o.alpha, Range{1.01, 2, true, true});
  o.learn_alpha = c.get<bool>("learn_alpha", o.learn_alpha);
  o.n_iter = c.get<int64_t>("n_iter", o.n_iter, Range{1, 1000});
  return [o](const HeadShape& s) { return std::make_unique<EntmaxAttention>(o, s); };
}

Tensor EntmaxAttention::alpha() const {
  const Tensor alpha = ops::sigmoid(pre_alpha) + 1.f;
  Tensor low = Tensor::zeros(alpha.shape());
  const std::vector<float> values = alpha.to_vector();
  for (size_t i = 0; i < values.size(); ++i) low.data()[i] = values[i] < kMinAlpha ? 1.f : 0.f;
  return ops::masked_fill(alpha, low, kMinAlpha);
}

Tensor EntmaxAttention::normalize(const Tensor& scores, const AttentionCall&) const {
  return ops::entmax_bisect(scores, alpha(), static_cast<int>(options.n_iter));
}

std::string EntmaxAttention::options_repr() const {
  std::ostringstream out;
  out << ", alpha=" << options.alpha
      << ", learn_alpha=" << (options.learn_alpha ? "true" : "false");
  return out.str();
}

}  // namespace heed::nn
