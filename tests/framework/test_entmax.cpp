// ops::entmax_bisect (framework/ops/entmax.h): rows on the simplex with masked keys at exactly 0,
// alpha = 2 is sparsemax and alpha -> 1 tends to softmax, finite-difference gradients w.r.t.
// scores and a broadcast alpha, the errors, and values and gradients against
// tests/fixtures/entmax.json, written by tests/fixtures/make_entmax_fixtures.py (float64 bisection
// to machine precision, implicit-function gradients checked there against closed forms and
// central differences).

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "fixture.h"
#include "framework/ops.h"
#include "gradcheck.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using V = const std::vector<Tensor>&;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// [2, 3, 4, 6] scores ([batch, heads, query, key]); the mask [2, 1, 4, 6] hides item 1's last two
// keys and every key of item 0's query 3.
Tensor key_mask() {
  Tensor m = Tensor::zeros({2, 1, 4, 6});
  for (int64_t q = 0; q < 4; ++q) m.data()[24 + q * 6 + 4] = m.data()[24 + q * 6 + 5] = 1.f;
  for (int64_t j = 0; j < 6; ++j) m.data()[3 * 6 + j] = 1.f;
  return m;
}

Tensor masked(const Tensor& x, const Tensor& mask) {
  return mask.defined() ? ops::masked_fill(x, mask, -kInf) : x;
}

Tensor per_head(float a0, float a1, float a2) {
  return Tensor::from_vector({a0, a1, a2}, {3, 1, 1});
}

}  // namespace

TEST_CASE("entmax_bisect: rows on the simplex, masked keys and fully masked rows exactly 0") {
  const Tensor x = masked(rnd({2, 3, 4, 6}, 1, -3.f, 3.f), key_mask());
  for (const Tensor& alpha :
       {per_head(1.2f, 1.5f, 2.f), Tensor::scalar(3.f), Tensor::from_vector({1.01f}, {1})}) {
    INFO("alpha ", alpha.shape(), " ", alpha.to_vector()[0]);
    const std::vector<float> p = ops::entmax_bisect(x, alpha).to_vector();
    const std::vector<float> m = key_mask().expand({2, 3, 4, 6}).contiguous().to_vector();
    for (int64_t r = 0; r < 24; ++r) {
      double sum = 0;
      for (int64_t j = 0; j < 6; ++j) {
        CHECK(p[r * 6 + j] >= 0.f);
        if (m[r * 6 + j] != 0.f) CHECK(p[r * 6 + j] == 0.f);
        sum += p[r * 6 + j];
      }
      const bool all_masked = r / 4 < 3 && r % 4 == 3;  // item 0, query 3, every head
      CHECK(sum == doctest::Approx(all_masked ? 0.0 : 1.0).epsilon(1e-6));
    }
  }
  // alpha 1.5 of [1, 0.8, -1]: x = (z - 1) / 2 = [0, -0.1, -1] and tau solves
  // (0 - tau)^2 + (-0.1 - tau)^2 = 1 on the support {1, 2}: tau = (-0.2 - sqrt(7.96)) / 4 =
  // -0.755337 > -1, so p = [0.570534, 0.429466, 0] (worked by hand, and by the fixture script).
  check_close(ops::entmax_bisect(Tensor::from_vector({1.f, 0.8f, -1.f}, {3}), Tensor::scalar(1.5f))
                  .to_vector(),
              {0.570534f, 0.429466f, 0.f}, 2e-6f, 0, "entmax15([1, 0.8, -1])");
}

TEST_CASE("entmax_bisect: alpha = 2 is sparsemax, alpha = 1.001 is close to softmax") {
  const Tensor mask = key_mask();
  const Tensor x = rnd({2, 3, 4, 6}, 2, -2.f, 2.f);
  check_close(ops::entmax_bisect(masked(x, mask), Tensor::scalar(2.f)).to_vector(),
              ops::sparsemax(masked(x, mask)).to_vector(), 1e-6f, 0, "alpha 2 vs sparsemax");
  // Off by O(alpha - 1): 1e-3 * |z| * p at most here.
  check_close(ops::entmax_bisect(masked(x, mask), Tensor::scalar(1.001f)).to_vector(),
              ops::softmax(masked(x, mask), -1).to_vector(), 2e-3f, 0, "alpha 1.001 vs softmax");
  // The gradients w.r.t. scores follow: sparsemax's eq. 14 exactly, softmax's within O(alpha - 1).
  for (const auto& [alpha, reference, tol] :
       std::vector<std::tuple<float, std::function<Tensor(const Tensor&)>, float>>{
           {2.f, [](const Tensor& s) { return ops::sparsemax(s); }, 1e-6f},
           {1.001f, [](const Tensor& s) { return ops::softmax(s, -1); }, 3e-3f}}) {
    INFO("alpha ", alpha);
    const Tensor a = x.clone().requires_grad_(), b = x.clone().requires_grad_();
    const Tensor w = rnd({2, 3, 4, 6}, 3, -1.f, 1.f);
    ops::sum(ops::entmax_bisect(masked(a, mask), Tensor::scalar(alpha)) * w).backward();
    ops::sum(reference(masked(b, mask)) * w).backward();
    check_close(a.grad().to_vector(), b.grad().to_vector(), tol, 0, "gradient of scores");
  }
}

TEST_CASE("entmax_bisect gradients w.r.t. scores and a broadcast alpha (finite differences)") {
  const Tensor x = rnd({2, 3, 4, 6}, 4, -2.f, 2.f);
  const Tensor mask = key_mask();
  const Tensor heads = per_head(1.2f, 1.6f, 2.f);
  const std::vector<GradCase> cases = {
      {"scores, alpha 1.5 (one element, constant)",
       [](V in) { return ops::entmax_bisect(in[0], Tensor::scalar(1.5f)); },
       {x},
       2e-3f,
       2e-2f,
       1e-3f},
      {"scores and alpha per head [3, 1, 1] (1.2, 1.6, 2)",
       [](V in) { return ops::entmax_bisect(in[0], in[1]); },
       {x, heads},
       2e-3f,
       2e-2f,
       1e-3f},
      {"scores and alpha per head, masked keys and a fully masked row",
       [mask](V in) { return ops::entmax_bisect(masked(in[0], mask), in[1]); },
       {x, heads},
       2e-3f,
       2e-2f,
       1e-3f},
      {"scores and alpha [1] (one element, learnable), masked",
       [mask](V in) { return ops::entmax_bisect(masked(in[0], mask), in[1]); },
       {x, Tensor::from_vector({1.3f}, {1})},
       2e-3f,
       2e-2f,
       1e-3f},
      {"scores and alpha per query [1, 1, 4, 1], alpha up to 2.5, masked",
       [mask](V in) { return ops::entmax_bisect(masked(in[0], mask), in[1]); },
       {x * 2.f, Tensor::from_vector({1.05f, 1.4f, 1.8f, 2.5f}, {1, 1, 4, 1})},
       2e-3f,
       2e-2f,
       1e-3f},
  };
  for (const GradCase& c : cases) check_gradients(c);
}

TEST_CASE("entmax_bisect skips the gradient of an alpha that needs none") {
  const Tensor x = rnd({2, 3, 4, 6}, 5, -2.f, 2.f).requires_grad_();
  const Tensor alpha = per_head(1.2f, 1.5f, 1.8f);
  ops::sum(ops::entmax_bisect(x, alpha) * rnd({2, 3, 4, 6}, 6)).backward();
  CHECK(x.grad().defined());
  CHECK_FALSE(alpha.grad().defined());
}

TEST_CASE("entmax_bisect: the parallel path gives the rows that one row at a time gives") {
  // 16 * 4 * 16 * 32 elements times 50 iterations: above kParallelGrain.
  const Tensor x = rnd({16, 4, 16, 32}, 7, -3.f, 3.f);
  const Tensor alpha = Tensor::from_vector({1.1f, 1.5f, 2.f, 2.5f}, {4, 1, 1});
  const Tensor p = ops::entmax_bisect(x, alpha);
  for (const int64_t b : {0, 7, 15})
    for (int64_t h = 0; h < 4; ++h) {
      const Tensor row = x.select(0, b).select(0, h).narrow(0, 5, 1).contiguous();
      CHECK(ops::entmax_bisect(row, alpha.select(0, h)).to_vector() ==
            p.select(0, b).select(0, h).narrow(0, 5, 1).contiguous().to_vector());
    }
}

TEST_CASE("entmax_bisect rejects a bad alpha, bad shapes and n_iter < 1, naming the op") {
  const Tensor x = rnd({2, 3, 4, 6}, 8);
  CHECK_THROWS_WITH_AS(ops::entmax_bisect(x, per_head(1.5f, 1.f, 2.f)),
                       "entmax_bisect: alpha must be a finite number > 1, got 1 (alpha [3, 1, 1])",
                       heed::Error);
  CHECK_THROWS_WITH_AS(ops::entmax_bisect(x, Tensor::scalar(0.5f)),
                       "entmax_bisect: alpha must be a finite number > 1, got 0.5 (alpha [])",
                       heed::Error);
  CHECK_THROWS_WITH_AS(ops::entmax_bisect(x, Tensor::scalar(std::nanf(""))),
                       "entmax_bisect: alpha must be a finite number > 1, got nan (alpha [])",
                       heed::Error);
  CHECK_THROWS_WITH_AS(ops::entmax_bisect(x, Tensor::full({2, 1, 1}, 1.5f)),
                       "entmax_bisect: alpha [2, 1, 1] does not broadcast to scores [2, 3, 4, 6] "
                       "with its last dimension 1 (one alpha per row)",
                       heed::Error);
  CHECK_THROWS_WITH_AS(ops::entmax_bisect(x, Tensor::full({3, 1, 6}, 1.5f)),
                       "entmax_bisect: alpha [3, 1, 6] does not broadcast to scores [2, 3, 4, 6] "
                       "with its last dimension 1 (one alpha per row)",
                       heed::Error);
  CHECK_THROWS_WITH_AS(ops::entmax_bisect(x, Tensor::full({1, 2, 3, 4, 1}, 1.5f)),
                       "entmax_bisect: alpha [1, 2, 3, 4, 1] does not broadcast to scores "
                       "[2, 3, 4, 6] with its last dimension 1 (one alpha per row)",
                       heed::Error);
  CHECK_THROWS_WITH_AS(ops::entmax_bisect(Tensor::scalar(1.f), Tensor::scalar(1.5f)),
                       "entmax_bisect: expects float scores of at least 1 dimension, got []",
                       heed::Error);
  CHECK_THROWS_WITH_AS(ops::entmax_bisect(x, Tensor::scalar(1.5f), 0),
                       "entmax_bisect: n_iter must be at least 1, got 0", heed::Error);
}

TEST_CASE("entmax_bisect matches the float64 reference (tests/fixtures/entmax.json)") {
  const testing::Fixture f = testing::load_fixture("entmax");
  const Tensor scores = f.input("scores").requires_grad_();
  const Tensor alpha = f.input("alpha").requires_grad_();
  const Tensor mask = f.input("mask");  // int64, 1 = -inf
  const Tensor p =
      ops::entmax_bisect(masked(scores, mask), alpha, f.config.at("n_iter").get<int>());
  check_close(p.to_vector(), f.output("weights").to_vector(), 1e-5f, 1e-4f, "weights");
  ops::sum(p * f.grad_output("weights")).backward();
  check_close(scores.grad().to_vector(), f.grad("scores").to_vector(), 1e-5f, 1e-4f,
              "grad of scores");
  check_close(alpha.grad().to_vector(), f.grad("alpha").to_vector(), 1e-5f, 1e-4f, "grad of alpha");
}
