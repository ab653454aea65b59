// Finite-difference gradient checks of the convolution, pooling and batch-norm ops (oneDNN
// primitives, framework/ops/{conv,pool,batch_norm}.cpp), their output shapes, and their shape
// errors. Values against PyTorch are in tests/layers/test_conv.cpp.

#include <doctest/doctest.h>

#include "gradcheck.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;

namespace {

using V = const std::vector<Tensor>&;

// Distinct, well-separated values, so no max window has a near tie that finite differences
// would cross.
Tensor distinct(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  const int64_t n = numel_of(shape);
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = 0.1f * static_cast<float>(i) - 0.05f * n;
  for (int64_t i = n - 1; i > 0; --i) std::swap(v[i], v[gen.below(i + 1)]);
  return Tensor::from_vector(v, shape);
}

std::vector<GradCase> conv_cases() {
  return {
      {"conv2d 3x3, padding 1, bias",
       [](V x) {
         return ops::conv2d(x[0], x[1], x[2], {1, 1}, {1, 1});
       },
       {rnd({2, 3, 5, 5}, 1), rnd({4, 3, 3, 3}, 2), rnd({4}, 3)}},
      {"conv2d stride 2 (last row and column uncovered), no bias",
       [](V x) {
         return ops::conv2d(x[0], x[1], Tensor(), {2, 2});
       },
       {rnd({2, 2, 6, 6}, 4), rnd({3, 2, 3, 3}, 5)}},
      {"conv2d stride (2, 1), padding (1, 2), dilation (2, 1)",
       [](V x) {
         return ops::conv2d(x[0], x[1], x[2], {2, 1}, {1, 2}, {2, 1});
       },
       {rnd({1, 2, 7, 6}, 6), rnd({2, 2, 3, 2}, 7), rnd({2}, 8)}},
      {"conv2d groups 2",
       [](V x) {
         return ops::conv2d(x[0], x[1], x[2], {1, 1}, {1, 1}, {1, 1}, 2);
       },
       {rnd({2, 4, 4, 4}, 9), rnd({6, 2, 3, 3}, 10), rnd({6}, 11)}},
      {"conv2d depthwise (groups = channels), non-contiguous input",
       [](V x) {
         return ops::conv2d(x[0].transpose(2, 3), x[1], Tensor(), {1, 1}, {0, 0}, {1, 1}, 3);
       },
       {rnd({2, 3, 4, 5}, 12), rnd({3, 1, 2, 2}, 13)}},
      {"conv1d kernel 3, padding 1",
       [](V x) { return ops::conv1d(x[0], x[1], x[2], 1, 1); },
       {rnd({2, 3, 7}, 14), rnd({4, 3, 3}, 15), rnd({4}, 16)}},
      {"conv1d stride 2, dilation 2, groups 2",
       [](V x) { return ops::conv1d(x[0], x[1], x[2], 2, 1, 2, 2); },
       {rnd({2, 4, 9}, 17), rnd({4, 2, 3}, 18), rnd({4}, 19)}},
      // One side constant: the closure then saves only what the other side's gradient reads.
      {"conv2d, constant weight and bias (dx only)",
       [w = rnd({4, 3, 3, 3}, 21), b = rnd({4}, 22)](V x) {
         return ops::conv2d(x[0], w, b, {1, 1}, {1, 1});
       },
       {rnd({2, 3, 5, 5}, 20)}},
      {"conv2d, constant input (dweight, dbias only)",
       [input = rnd({2, 3, 5, 5}, 20)](V x) {
         return ops::conv2d(input, x[0], x[1], {1, 1}, {1, 1});
       },
       {rnd({4, 3, 3, 3}, 21), rnd({4}, 22)}},
  };
}

std::vector<GradCase> pool_cases() {
  return {
      {"max_pool2d 2x2",
       [](V x) {
         return ops::max_pool2d(x[0], {2, 2});
       },
       {distinct({2, 3, 4, 4}, 20)}},
      {"max_pool2d 3x3 stride 2 padding 1 (odd size)",
       [](V x) {
         return ops::max_pool2d(x[0], {3, 3}, {2, 2}, {1, 1});
       },
       {distinct({1, 2, 5, 5}, 21)}},
      {"avg_pool2d 2x2",
       [](V x) {
         return ops::avg_pool2d(x[0], {2, 2});
       },
       {rnd({2, 2, 4, 5}, 22)}},
      {"avg_pool2d 3x3 stride 2 padding 1, count_include_pad",
       [](V x) {
         return ops::avg_pool2d(x[0], {3, 3}, {2, 2}, {1, 1}, true);
       },
       {rnd({1, 2, 5, 5}, 23)}},
      {"avg_pool2d 3x3 stride 2 padding 1, count_include_pad false",
       [](V x) {
         return ops::avg_pool2d(x[0], {3, 3}, {2, 2}, {1, 1}, false);
       },
       {rnd({1, 2, 5, 5}, 24)}},
      {"max_pool1d 3 stride 2",
       [](V x) { return ops::max_pool1d(x[0], 3, 2); },
       {distinct({2, 2, 7}, 25)}},
      {"avg_pool1d 2 padding 1",
       [](V x) { return ops::avg_pool1d(x[0], 2, 2, 1); },
       {rnd({2, 2, 7}, 26)}},
      {"adaptive_avg_pool2d global (oneDNN)",
       [](V x) {
         return ops::adaptive_avg_pool2d(x[0], {1, 1});
       },
       {rnd({2, 3, 4, 5}, 27)}},
      {"adaptive_avg_pool2d 5x5 -> 3x2 (uneven bins, loop)",
       [](V x) {
         return ops::adaptive_avg_pool2d(x[0], {3, 2});
       },
       {rnd({2, 2, 5, 5}, 28)}},
  };
}

std::vector<GradCase> batch_norm_cases() {
  return {
      {"batch_norm train [4, 3, 2, 2], affine",
       [](V x) { return ops::batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true); },
       {rnd({4, 3, 2, 2}, 30), rnd({3}, 31, 0.5f, 1.5f), rnd({3}, 32)},
       3e-3f,
       3e-2f,
       1e-2f},
      {"batch_norm train [5, 4] (BatchNorm1d), no affine",
       [](V x) { return ops::batch_norm(x[0], Tensor(), Tensor(), Tensor(), Tensor(), true); },
       {rnd({5, 4}, 33)},
       3e-3f,
       3e-2f,
       1e-2f},
      {"batch_norm train [3, 2, 5] (BatchNorm1d over length), affine",
       [](V x) { return ops::batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true); },
       {rnd({3, 2, 5}, 34), rnd({2}, 35, 0.5f, 1.5f), rnd({2}, 36)},
       3e-3f,
       3e-2f,
       1e-2f},
      {"batch_norm eval with running statistics",
       [](V x) {
         const Tensor mean = Tensor::from_vector({0.1f, -0.2f, 0.3f}, {3});
         const Tensor var = Tensor::from_vector({0.5f, 1.5f, 2.f}, {3});
         return ops::batch_norm(x[0], mean, var, x[1], x[2], false);
       },
       {rnd({2, 3, 2, 2}, 37), rnd({3}, 38, 0.5f, 1.5f), rnd({3}, 39)}},
  };
}

}  // namespace

TEST_CASE("conv ops: gradients of conv1d and conv2d (stride, padding, dilation, groups)") {
  for (const GradCase& c : conv_cases()) check_gradients(c);
}

TEST_CASE("conv ops: gradients of max, avg and adaptive avg pooling, 1-D and 2-D") {
  for (const GradCase& c : pool_cases()) check_gradients(c);
}

TEST_CASE("conv ops: gradients of batch_norm in training and eval") {
  for (const GradCase& c : batch_norm_cases()) check_gradients(c);
}

TEST_CASE("conv ops: output shapes follow PyTorch's formulas") {
  const Tensor x = Tensor::zeros({2, 3, 9, 8});
  CHECK(ops::conv2d(x, Tensor::zeros({4, 3, 3, 3})).shape() == Shape{2, 4, 7, 6});
  CHECK(ops::conv2d(x, Tensor::zeros({6, 1, 3, 3}), Tensor(), {2, 3}, {1, 1}, {2, 1}, 3).shape() ==
        Shape{2, 6, 4, 3});
  CHECK(ops::max_pool2d(x, {2, 2}).shape() == Shape{2, 3, 4, 4});
  CHECK(ops::avg_pool2d(x, {3, 3}, {2, 2}, {1, 1}).shape() == Shape{2, 3, 5, 4});
  CHECK(ops::adaptive_avg_pool2d(x, {4, 3}).shape() == Shape{2, 3, 4, 3});
  CHECK(ops::conv1d(Tensor::zeros({2, 3, 10}), Tensor::zeros({5, 3, 4}), Tensor(), 2).shape() ==
        Shape{2, 5, 4});
  CHECK(ops::max_pool1d(Tensor::zeros({2, 3, 10}), 3).shape() == Shape{2, 3, 3});
}

TEST_CASE("conv ops: batch_norm updates running statistics like PyTorch") {
  // x per channel: channel 0 = {1, 2, 3, 4}, channel 1 = {0, 0, 2, 2} over [batch 2, length 2].
  const Tensor x = Tensor::from_vector({1, 2, 0, 0, 3, 4, 2, 2}, {2, 2, 2});
  Tensor mean = Tensor::zeros({2}), var = Tensor::ones({2});
  ops::batch_norm(x, mean, var, Tensor(), Tensor(), true, 0.1f);
  // means 2.5 and 1; unbiased variances 5/3 and 4/3.
  CHECK(mean.at({0}) == doctest::Approx(0.25));
  CHECK(mean.at({1}) == doctest::Approx(0.1));
  CHECK(var.at({0}) == doctest::Approx(0.9 + 0.1 * 5.0 / 3.0));
  CHECK(var.at({1}) == doctest::Approx(0.9 + 0.1 * 4.0 / 3.0));
  const Tensor y = ops::batch_norm(x, mean, var, Tensor(), Tensor(), false);
  CHECK(y.at({0, 0, 0}) == doctest::Approx((1 - 0.25) / std::sqrt(var.at({0}) + 1e-5)));
  CHECK(mean.at({0}) == doctest::Approx(0.25));  // eval leaves them alone
}

TEST_CASE("conv ops: shape errors name the op and the shapes") {
  const Tensor x = Tensor::zeros({2, 3, 8, 8});
  CHECK_THROWS_WITH(ops::conv2d(x, Tensor::zeros({4, 2, 3, 3})),
                    "conv2d: input [2, 3, 8, 8] has 3 channels, weight [4, 2, 3, 3] expects 2 x "
                    "groups 1");
  CHECK_THROWS_WITH(ops::conv2d(x, Tensor::zeros({4, 3, 3, 3}), Tensor::zeros({3})),
                    "conv2d: bias [3] for weight [4, 3, 3, 3] must be [4]");
  CHECK_THROWS_WITH(ops::conv2d(Tensor::zeros({2, 3, 8}), Tensor::zeros({4, 3, 3, 3})),
                    "conv2d: input [2, 3, 8] must be [batch, channels, H, W]");
  CHECK_THROWS_WITH(
      ops::conv2d(x, Tensor::zeros({4, 1, 3, 3}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 3),
      "conv2d: weight [4, 1, 3, 3] has 4 out_channels, not divisible by groups 3");
  CHECK_THROWS_WITH(ops::conv2d(Tensor::zeros({1, 3, 2, 2}), Tensor::zeros({4, 3, 3, 3})),
                    doctest::Contains("is smaller than the dilated kernel"));
  CHECK_THROWS_WITH(
      ops::conv1d(Tensor::zeros({2, 3, 8}), Tensor::zeros({4, 1, 3}), Tensor(), 1, 0, 1, 2),
      "conv1d: input [2, 3, 8] has 3 channels, weight [4, 1, 3] expects 1 x groups 2");
  CHECK_THROWS_WITH(ops::max_pool2d(x, {2, 2}, {2, 2}, {2, 2}),
                    doctest::Contains("max_pool2d: padding [2, 2] must be at most half"));
  CHECK_THROWS_WITH(ops::avg_pool2d(Tensor::zeros({2, 8, 8}), {2, 2}),
                    "avg_pool2d: input [2, 8, 8] must be float32 [batch, channels, H, W]");
  CHECK_THROWS_WITH(
      ops::batch_norm(Tensor::zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true),
      doctest::Contains("expected more than 1 value per channel when training"));
  CHECK_THROWS_WITH(
      ops::batch_norm(x, Tensor(), Tensor(), Tensor::ones({4}), Tensor::zeros({4}), true),
      "batch_norm: weight [4] must be [3] for input [2, 3, 8, 8]");
}
