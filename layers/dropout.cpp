#include "layers/dropout.h"

#include <sstream>

#include "framework/ops/elementwise.h"
#include "framework/ops/nn.h"
#include "framework/random.h"

namespace heed::nn {

void check_dropout(float p, const char* layer) {
  HEED_CHECK(p >= 0.f && p <= 1.f, layer,
             ": dropout probability has to be between 0 and 1, but got ", p);
}

Dropout::Dropout(float prob, Generator& gen) : p(prob), gen_(&gen) {
  check_dropout(p, "Dropout");
}

Tensor Dropout::forward(const Tensor& x) const {
  return ops::dropout(x, p, is_training(), *gen_);
}

std::string Dropout::repr() const {
  std::ostringstream out;
  out << "Dropout(p=" << p << ")";
  return out.str();
}

LockedDropout::LockedDropout(float prob, Generator& gen) : p(prob), gen_(&gen) {
  check_dropout(p, "LockedDropout");
}

Tensor locked_dropout(const Tensor& x, float p, bool training, Generator& gen, bool batch_first) {
  if (!training || p == 0.f) return x;
  const int64_t batch = x.size(batch_first ? 0 : 1), features = x.size(2);
  const uint64_t key = gen.next_u64();
  const float scale = p < 1.f ? 1.f / (1.f - p) : 0.f;
  // The mask is a constant of the graph: mul's backward multiplies the gradient by it and, as
  // it broadcasts over seq, each x[b, t, f] gets its own (masked) gradient. Element b * features
  // + f of either layout's mask is m[b, f].
  std::vector<float> mask(static_cast<size_t>(batch * features));
  for (size_t i = 0; i < mask.size(); ++i)
    mask[i] = counter_uniform(key, static_cast<uint64_t>(i)) >= p ? scale : 0.f;
  const Shape shape = batch_first ? Shape{batch, 1, features} : Shape{1, batch, features};
  return ops::mul(x, Tensor::from_vector(std::move(mask), shape));
}

Tensor LockedDropout::forward(const Tensor& x) const {
  HEED_CHECK(x.dim() == 3, "LockedDropout: expected input [batch, seq, features], got ", x.shape());
  return locked_dropout(x, p, is_training(), *gen_);
}

std::string LockedDropout::repr() const {
  std::ostringstream out;
  out << "LockedDropout(p=" << p << ")";
  return out.str();
}

}  // namespace heed::nn
