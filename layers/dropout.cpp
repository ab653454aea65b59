#include "layers/dropout.h"

#include <sstream>

#include "framework/ops/nn.h"

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

}  // namespace heed::nn
