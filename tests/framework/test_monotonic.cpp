// ops::monotonic_alignment (framework/ops/monotonic.h), Raffel et al. 2017's expected monotonic
// alignment: the recurrence against eq. 9's explicit double sum, hand-checked corners (always
// stop: the alignment stays; one certain stop collects everything before it), the mass it loses
// off the end, finite differences of both inputs, and the shape errors.

#include <doctest/doctest.h>

#include <vector>

#include "framework/ops.h"
#include "framework/random.h"
#include "gradcheck.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;

TEST_CASE("monotonic_alignment equals eq. 9's sum over where the previous step stopped") {
  const Tensor p = rnd({3, 6}, 1, 0.05f, 0.95f), prev = ops::softmax(rnd({3, 6}, 2), 1);
  const std::vector<float> a = ops::monotonic_alignment(p, prev).to_vector();
  const std::vector<float> pv = p.to_vector(), qv = prev.to_vector();
  for (int64_t b = 0; b < 3; ++b) {
    double total = 0, before = 0;
    for (int64_t j = 0; j < 6; ++j) {
      double sum = 0;  // sum_{k<=j} alpha_i-1,k prod_{l=k}^{j-1} (1 - p_l)
      for (int64_t k = 0; k <= j; ++k) {
        double keep = qv[b * 6 + k];
        for (int64_t l = k; l < j; ++l) keep *= 1 - pv[b * 6 + l];
        sum += keep;
      }
      CHECK(a[b * 6 + j] == doctest::Approx(pv[b * 6 + j] * sum).epsilon(1e-5));
      total += a[b * 6 + j];
      before += qv[b * 6 + j];
    }
    CHECK(total <= before + 1e-6);  // what runs off the end is lost
  }
}

TEST_CASE("monotonic_alignment: always stopping keeps the alignment, one stop collects the rest") {
  const Tensor prev = Tensor::from_vector({0.1f, 0.2f, 0.3f, 0.4f}, {1, 4});
  CHECK(ops::monotonic_alignment(Tensor::ones({1, 4}), prev).to_vector() == prev.to_vector());
  const std::vector<float> a =
      ops::monotonic_alignment(Tensor::from_vector({0, 0, 1, 0}, {1, 4}), prev).to_vector();
  CHECK(a[0] == 0.f);
  CHECK(a[1] == 0.f);
  CHECK(a[2] == doctest::Approx(0.6f));
  CHECK(a[3] == 0.f);  // the scan stopped at entry 2; entry 3's own mass has p = 0 there
}

TEST_CASE("monotonic_alignment: finite differences of p and of the previous alignment") {
  const Tensor p = rnd({2, 5}, 3, 0.1f, 0.9f), prev = ops::softmax(rnd({2, 5}, 4), 1);
  check_gradients(
      {"monotonic_alignment",
       [](const std::vector<Tensor>& x) { return ops::monotonic_alignment(x[0], x[1]); },
       {p, prev}});
  // Through two steps, as a decoder chains them.
  check_gradients({"two steps",
                   [](const std::vector<Tensor>& x) {
                     return ops::monotonic_alignment(x[0], ops::monotonic_alignment(x[1], x[2]));
                   },
                   {p, rnd({2, 5}, 5, 0.1f, 0.9f), prev}});
}

TEST_CASE("monotonic_alignment: shape errors name the op and both shapes") {
  CHECK_THROWS_WITH_AS(ops::monotonic_alignment(Tensor::ones({2, 4}), Tensor::ones({2, 5})),
                       doctest::Contains("monotonic_alignment: p [2, 4] and previous [2, 5]"),
                       Error);
}
