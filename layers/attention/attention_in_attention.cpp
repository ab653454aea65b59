#include "layers/attention/attention_in_attention.h"

#include <algorithm>
#include <sstream>

#include "framework/inspect.h"
#include "framework/ops.h"

namespace heed::nn {

namespace {

// A named group of the block's children ("attention", "attention_dropout"), so that their
// parameters read as the reference's (attention.k1.weight).
class Group : public Module {
 public:
  explicit Group(std::string name) : name_(std::move(name)) {}
  template <class M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> m) {
    return register_module(name, std::move(m));
  }
  std::string repr() const override { return name_; }

 private:
  std::string name_;
};

Tensor leaky_relu(const Tensor& x) {
  return ops::relu(x) - ops::relu(-x) * 0.2f;
}

std::shared_ptr<Conv2d> conv(int64_t channels, int64_t kernel, bool bias, Generator& gen) {
  Conv2dOptions o;
  o.in_channels = o.out_channels = channels;
  o.kernel_size = {kernel, kernel};
  o.padding = {kernel / 2, kernel / 2};
  o.bias = bias;
  return std::make_shared<Conv2d>(o, gen);
}

}  // namespace

AttentionInAttention::AttentionInAttention(int64_t c, Generator& gen, int64_t r, float t)
    : channels(c), reduction(r), temperature(t) {
  HEED_CHECK(c > 0 && r > 0 && t > 0.f, "AttentionInAttention: channels ", c, ", reduction ", r,
             " and temperature ", t, " must be positive");
  const int64_t hidden = std::max<int64_t>(1, c / r);
  conv_first = register_module("conv_first", conv(c, 1, false, gen));
  conv_last = register_module("conv_last", conv(c, 1, false, gen));
  auto dropout = register_module("attention_dropout", std::make_shared<Group>("AttentionDropout"));
  fc1 = dropout->add("fc1", std::make_shared<Linear>(c, hidden, gen, false));
  fc2 = dropout->add("fc2", std::make_shared<Linear>(hidden, 2, gen, false));
  auto branch = register_module("attention", std::make_shared<Group>("AttentionBranch"));
  k1 = branch->add("k1", conv(c, 3, false, gen));
  k2 = branch->add("k2", conv(c, 1, true, gen));
  k3 = branch->add("k3", conv(c, 3, false, gen));
  k4 = branch->add("k4", conv(c, 3, false, gen));
  non_attention = register_module("non_attention", conv(c, 3, false, gen));
}

AttentionMap AttentionInAttention::attend(const Tensor& x) const {
  HEED_CHECK(x.dim() == 4 && x.size(1) == channels, "AttentionInAttention: input ", x.shape(),
             " must be [batch, ", channels, ", H, W]");
  const int64_t batch = x.size(0);
  const Tensor y = leaky_relu(conv_first->forward(x));
  const Tensor mix =
      ops::softmax(fc2->forward(ops::relu(fc1->forward(ops::mean(y, {2, 3})))) / temperature, 1);
  Inspector::record(*this, "weights", mix);
  const Tensor gate = ops::sigmoid(k2->forward(leaky_relu(k1->forward(y))));
  const Tensor attention = k4->forward(k3->forward(y) * gate);
  const std::vector<Tensor> w = ops::split(mix.reshape({batch, 2, 1, 1}), {1, 1}, 1);
  const Tensor mixed = attention * w[0] + non_attention->forward(y) * w[1];
  return {conv_last->forward(leaky_relu(mixed)) + x, mix};
}

std::string AttentionInAttention::repr() const {
  std::ostringstream out;
  out << "AttentionInAttention(channels=" << channels << ", reduction=" << reduction
      << ", temperature=" << temperature << ")";
  return out.str();
}

}  // namespace heed::nn
