// framework/ops/band_attention.h and the windowed mechanism's band path
// (layers/attention/windowed.h): finite-difference gradients of each band op, and the band path
// against the dense form it replaces (the [query, key] scores masked by band_mask), values and
// gradients, symmetric and causal, with padding, with windows shorter and longer than the
// sequence.

#include <doctest/doctest.h>

#include <limits>

#include "framework/ops.h"
#include "gradcheck.h"
#include "layers/attention/scaled_dot_product.h"
#include "layers/attention/windowed.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using V = const std::vector<Tensor>&;

TEST_CASE("band ops: finite-difference gradients") {
  // band_scores' -inf entries (keys outside the sequence) go through softmax, as in attention.
  for (const auto& [before, after] :
       std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {2, 0}, {6, 6}}) {
    CAPTURE(before);
    CAPTURE(after);
    const int64_t width = before + 1 + after;
    check_gradients({"band_scores",
                     [before, after](V x) {
                       return ops::softmax(ops::band_scores(x[0], x[1], before, after), -1);
                     },
                     {rnd({2, 5, 3}, 1), rnd({2, 5, 3}, 2)}});
    check_gradients({"band_matmul",
                     [before](V x) { return ops::band_matmul(x[0], x[1], before); },
                     {rnd({2, 5, width}, 3), rnd({2, 5, 4}, 4)}});
    check_gradients({"band_to_dense",
                     [before](V x) { return ops::band_to_dense(x[0], before); },
                     {rnd({2, 5, width}, 5)}});
  }
}

TEST_CASE("band ops: the band of the dense scores, and back") {
  const Tensor q = rnd({2, 3, 6, 4}, 11), k = rnd({2, 3, 6, 4}, 12);
  const Tensor dense = ops::matmul(q, k.transpose(-1, -2));
  const Tensor band = ops::band_scores(q, k, 2, 1);
  CHECK(band.shape() == Shape({2, 3, 6, 4}));
  // Row 0's first two keys (-2, -1) and row 5's last (6) lie outside the sequence.
  const std::vector<float> b = band.to_vector();
  CHECK(b[0] == -std::numeric_limits<float>::infinity());
  CHECK(b[1] == -std::numeric_limits<float>::infinity());
  CHECK(b[5 * 4 + 3] == -std::numeric_limits<float>::infinity());
  // Written back into place (the entries outside are not written), the band is the dense matrix
  // where j is at most 2 before i and 1 after it, and 0 elsewhere.
  const Tensor back = ops::band_to_dense(band, 2);
  const std::vector<float> got = back.to_vector(), all = dense.to_vector();
  for (int64_t g = 0; g < 6; ++g)
    for (int64_t i = 0; i < 6; ++i)
      for (int64_t j = 0; j < 6; ++j) {
        const float expected = (i - j <= 2 && j - i <= 1) ? all[(g * 6 + i) * 6 + j] : 0.f;
        CHECK(got[(g * 6 + i) * 6 + j] == doctest::Approx(expected).epsilon(1e-6));
      }
}

TEST_CASE("windowed attention: the band path equals the dense masked form, values and gradients") {
  for (const int64_t window : {0, 2, 9}) {
    for (const bool causal : {false, true}) {
      for (const bool padded : {false, true}) {
        CAPTURE(window);
        CAPTURE(causal);
        CAPTURE(padded);
        const nn::WindowedAttention mech({.window = window}, nn::HeadShape{.num_heads = 2});
        nn::AttentionCall call;
        if (causal) call.attn_mask = nn::causal_mask(7, 7);
        if (padded) call.key_padding_mask = last_item_padding(2, 7, 3);
        std::vector<Tensor> masks = {nn::band_mask(7, 7, window, false)};
        if (causal) masks.push_back(call.attn_mask);
        if (padded) masks.push_back(call.key_padding_mask.reshape({2, 1, 1, 7}));

        std::vector<Tensor> band_in, dense_in;
        for (uint64_t seed : {21, 22, 23}) {
          band_in.push_back(rnd({2, 2, 7, 4}, seed).requires_grad_());
          dense_in.push_back(rnd({2, 2, 7, 4}, seed).requires_grad_());
        }
        const nn::AttentionOutput band = mech.attend(band_in[0], band_in[1], band_in[2], call);
        const nn::AttentionOutput dense =
            mech.attend_masked(dense_in[0], dense_in[1], dense_in[2], masks, call);
        check_close(band.output.to_vector(), dense.output.to_vector(), 1e-6f, 1e-5f, "output");
        check_close(band.weights.to_vector(), dense.weights.to_vector(), 1e-6f, 1e-5f, "weights");
        const Tensor cotangent = rnd({2, 2, 7, 4}, 24);
        ops::sum(band.output * cotangent).backward();
        ops::sum(dense.output * cotangent).backward();
        for (size_t i = 0; i < 3; ++i)
          check_close(band_in[i].grad().to_vector(), dense_in[i].grad().to_vector(), 1e-6f, 1e-5f,
                      "gradient of q, k, v #" + std::to_string(i));
      }
    }
  }
}

TEST_CASE("windowed attention: the band path never forms [query, key] unless asked") {
  const nn::WindowedAttention mech({.window = 3}, nn::HeadShape{});
  nn::AttentionCall call;
  call.need_weights = false;
  call.attn_mask = nn::causal_mask(50, 50);
  const Tensor x = rnd({1, 1, 50, 4}, 31).requires_grad_();
  const nn::AttentionOutput out = mech.attend(x, x, x, call);
  CHECK_FALSE(out.weights.defined());
  CHECK(out.output.grad_fn()->name == std::string("band_matmul"));
}

TEST_CASE("band ops: shape errors name the op and the shapes") {
  const Tensor a = rnd({2, 5, 3}, 1);
  CHECK(error_of([&] {
          ops::band_scores(a, rnd({2, 4, 3}, 2), 1, 1);
        }) == "band_scores: q [2, 5, 3] and k [2, 4, 3] are not both [..., seq, d]");
  CHECK(error_of([&] {
          ops::band_matmul(rnd({2, 5, 3}, 1), rnd({2, 5, 4}, 2), 3);
        }) ==
        "band_matmul: weights [2, 5, 3] and v [2, 5, 4] are not [..., seq, width] and [..., seq, "
        "d_v] with 0 <= before (3) < width");
  CHECK(error_of([&] { ops::band_scores(a, a, -1, 1); }).find("nonnegative") != std::string::npos);
}
