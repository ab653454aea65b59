// LockedDropout (variational dropout, Gal & Ghahramani 2016; Merity et al. 2018): one mask per
// sequence and feature, the same at every step; gradient check with the mask fixed by the seed.
// PyTorch has no such layer, so the reference is the definition itself: y = x * m[b, f] / (1-p).

#include <doctest/doctest.h>

#include "gradcheck.h"
#include "layers/dropout.h"

using namespace heed;

TEST_CASE("LockedDropout: one mask per sequence and feature, constant over time, scaled 1/(1-p)") {
  Generator gen(3);
  nn::LockedDropout drop(0.4f, gen);
  const int64_t batch = 5, seq = 7, features = 11;
  const Tensor x = Tensor::full({batch, seq, features}, 2.f);
  const std::vector<float> y = drop.forward(x).to_vector();
  int64_t dropped = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t f = 0; f < features; ++f) {
      const float first = y[(b * seq) * features + f];
      CHECK((first == 0.f || first == doctest::Approx(2.f / 0.6f)));
      dropped += first == 0.f;
      for (int64_t t = 1; t < seq; ++t) CHECK(y[(b * seq + t) * features + f] == first);
    }
  CHECK(dropped > 0);  // 55 draws at p = 0.4: some of each
  CHECK(dropped < batch * features);

  drop.eval();
  CHECK(drop.forward(x).to_vector() == x.to_vector());
  drop.train();
  nn::LockedDropout all(1.f, gen);
  for (float v : all.forward(x).to_vector()) CHECK(v == 0.f);
  CHECK(drop.repr() == "LockedDropout(p=0.4)");
  CHECK(drop.named_parameters().empty());
}

TEST_CASE("LockedDropout: gradient check, and bad input is an error naming the shape") {
  Generator data(9);
  heed::testing::check_gradients({"LockedDropout(p=0.3) [2, 4, 3]",
                                  [](const std::vector<Tensor>& in) {
                                    Generator gen(11);  // the same mask at every call
                                    return nn::LockedDropout(0.3f, gen).forward(in[0]);
                                  },
                                  {Tensor::randn({2, 4, 3}, data)}});
  Generator gen(1);
  CHECK_THROWS_WITH(nn::LockedDropout(0.5f, gen).forward(Tensor::zeros({4, 3})),
                    "LockedDropout: expected input [batch, seq, features], got [4, 3]");
  CHECK_THROWS_WITH(nn::LockedDropout(1.5f, gen),
                    "LockedDropout: dropout probability has to be between 0 and 1, but got 1.5");
}
