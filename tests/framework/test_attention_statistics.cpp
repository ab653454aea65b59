// AttentionStatistics (framework/attention_statistics.h): entropy and largest weight of attention
// distributions on hand-computed rows, padded queries and fully masked rows left out, sums over
// batches; the trainer's evaluations log them (checked on a trained G2P run in test_predict.cpp).

#include <doctest/doctest.h>

#include <cmath>

#include "framework/attention_statistics.h"
#include "framework/error.h"

using namespace heed;

TEST_CASE("attention statistics: uniform, one-hot and masked rows, by hand") {
  // [batch 2, query 2, key 4]: a uniform row (entropy log 4, largest 1/4), a one-hot row (0, 1);
  // the second example's rows are a half-half row (log 2, 1/2) and a padded query.
  const Tensor w = Tensor::from_vector({0.25f, 0.25f, 0.25f, 0.25f, 0, 1, 0, 0,  //
                                        0.5f, 0, 0.5f, 0, 0.9f, 0.1f, 0, 0},
                                       {2, 2, 4});
  const Tensor lengths = Tensor::from_vector_i64({2, 1}, {2});
  AttentionStatistics stats;
  stats.add("attention", w, lengths);
  const nlohmann::json r = stats.result()["attention"];
  CHECK(r["rows"] == 3);
  CHECK(r["entropy"].get<double>() == doctest::Approx((std::log(4.0) + 0 + std::log(2.0)) / 3));
  CHECK(r["max_weight"].get<double>() == doctest::Approx((0.25 + 1 + 0.5) / 3));
}

TEST_CASE("attention statistics: heads, every query without lengths, sums over batches") {
  // [batch 1, heads 2, query 1, key 2]; a row of zeros (every key masked) is no distribution.
  AttentionStatistics stats;
  stats.add("encoder.layers.0.self_attn", Tensor::from_vector({0.5f, 0.5f, 0, 0}, {1, 2, 1, 2}),
            Tensor());
  stats.add("encoder.layers.0.self_attn", Tensor::from_vector({1, 0, 0, 1}, {1, 2, 1, 2}),
            Tensor());
  const nlohmann::json r = stats.result()["encoder.layers.0.self_attn"];
  CHECK(r["rows"] == 3);  // over the whole split, not a mean of the two batches' means
  CHECK(r["entropy"].get<double>() == doctest::Approx(std::log(2.0) / 3));
  CHECK(r["max_weight"].get<double>() == doctest::Approx((0.5 + 1 + 1) / 3));
}

TEST_CASE("attention statistics: a row summing below 1 (local-p) is normalized for entropy") {
  AttentionStatistics stats;
  stats.add("a", Tensor::from_vector({0.2f, 0.2f}, {1, 1, 2}), Tensor());
  const nlohmann::json r = stats.result()["a"];
  CHECK(r["entropy"].get<double>() == doctest::Approx(std::log(2.0)));
  CHECK(r["max_weight"].get<double>() == doctest::Approx(0.2));
  CHECK(AttentionStatistics().result() == nlohmann::json::object());
}

TEST_CASE("attention statistics: which layers attend from a seq2seq decoder's output steps") {
  CHECK(attends_from_target("attention"));  // the RNN decoder's, at a Seq2Seq's root
  CHECK(attends_from_target("decoder.layers.0.self_attn"));
  CHECK(attends_from_target("decoder.layers.2.multihead_attn"));
  CHECK_FALSE(attends_from_target("encoder.layers.0.self_attn"));
  CHECK_FALSE(attends_from_target("pool.attention"));
}

TEST_CASE("attention statistics: wrong shapes name the layer") {
  AttentionStatistics stats;
  CHECK_THROWS_WITH_AS(stats.add("pool", Tensor::zeros({2, 3}), Tensor()),
                       "attention statistics: pool's weights [2, 3] are not [batch, (heads,) "
                       "query, key]",
                       Error);
  CHECK_THROWS_WITH_AS(
      stats.add("pool", Tensor::zeros({2, 1, 3}), Tensor::from_vector_i64({1, 1, 1}, {3})),
      "attention statistics: pool's query lengths [3] are not [2]", Error);
}
