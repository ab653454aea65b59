// Attention between two sequences (a passage and a question): BiDAF's attention flow
// (layers/attention/bidaf.h) and the Dynamic Coattention Network's coattention encoder
// (layers/attention/coattention.h). Values and gradients against the float64 references of
// tests/fixtures/make_attention_fixtures.py (attn_bidaf.json, attn_coattention.json: each paper's
// equations written directly), finite differences with padding on both sides, the masks' effect
// on the weights, and the shape errors.

#include <doctest/doctest.h>

#include <memory>

#include "fixture.h"
#include "framework/ops.h"
#include "framework/random.h"
#include "gradcheck.h"
#include "layers/attention/bidaf.h"
#include "layers/attention/coattention.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;
using V = const std::vector<Tensor>&;

namespace {

// Output, weights and the gradients of the two inputs and of every parameter.
void check_fixture(const Fixture& f, const Tensor& output, const Tensor& weights,
                   const std::vector<std::pair<std::string, Tensor>>& inputs,
                   const Module& module) {
  REQUIRE(output.shape() == f.output("output").shape());
  check_close(output.to_vector(), f.output("output").to_vector(), 1e-5f, 1e-4f, "output");
  REQUIRE(weights.shape() == f.output("weights").shape());
  check_close(weights.to_vector(), f.output("weights").to_vector(), 1e-5f, 1e-4f, "weights");
  ops::sum(output * f.grad_output("output")).backward();
  for (const auto& [name, x] : inputs)
    check_close(x.grad().to_vector(), f.grad(name).to_vector(), 1e-5f, 1e-4f, "grad of " + name);
  for (const auto& [name, p] : module.named_parameters())
    check_close(p.grad().to_vector(), f.grad(name).to_vector(), 1e-5f, 1e-4f, "grad of " + name);
}

}  // namespace

TEST_CASE("BiDAFAttention matches the Seo et al. 2017 reference (attn_bidaf.json)") {
  const Fixture f = load_fixture("attn_bidaf");
  Generator gen(0);
  nn::BiDAFAttention flow(3, gen);
  flow.load_state_dict(f.params());
  Tensor h = f.input("context").requires_grad_(), u = f.input("query").requires_grad_();
  const auto out = flow.forward(h, u, f.input("key_padding_mask"), last_item_padding(2, 3));
  check_fixture(f, out.output, out.c2q, {{"context", h}, {"query", u}}, flow);
}

TEST_CASE("Coattention matches the Xiong et al. 2017 reference (attn_coattention.json)") {
  const Fixture f = load_fixture("attn_coattention");
  Generator gen(0);
  nn::Coattention coattention(3, gen);
  coattention.load_state_dict(f.params());
  Tensor d = f.input("document").requires_grad_(), q = f.input("question").requires_grad_();
  const auto out = coattention.forward(d, q, f.input("key_padding_mask"), last_item_padding(2, 3));
  check_fixture(f, out.output, out.question_weights, {{"document", d}, {"question", q}},
                coattention);
}

TEST_CASE("BiDAF and coattention: finite differences, with and without padding") {
  Generator gen(1);
  const Tensor passage = rnd({2, 5, 4}, 1), question = rnd({2, 3, 4}, 2);
  for (const bool masked : {false, true}) {
    const Tensor pm = masked ? last_item_padding(2, 5) : Tensor(),
                 qm = masked ? last_item_padding(2, 3, 1) : Tensor();
    const std::string suffix = masked ? " with padding" : " without masks";
    auto flow = randomized(std::make_shared<nn::BiDAFAttention>(4, gen), 11, 0.7f);
    check_module_gradients({"BiDAF" + suffix,
                            flow,
                            [&](V x) { return flow->forward(x[0], x[1], pm, qm).output; },
                            {passage, question}});
    auto co = randomized(std::make_shared<nn::Coattention>(4, gen), 12, 0.7f);
    check_module_gradients({"coattention" + suffix,
                            co,
                            [&](V x) { return co->forward(x[0], x[1], pm, qm).output; },
                            {passage, question}});
  }
}

TEST_CASE("BiDAF and coattention: padded positions get no weight, sentinels always may") {
  Generator gen(2);
  const Tensor passage = rnd({2, 5, 4}, 3), question = rnd({2, 3, 4}, 4);
  const Tensor pm = last_item_padding(2, 5), qm = last_item_padding(2, 3);
  const auto flow = nn::BiDAFAttention(4, gen).forward(passage, question, pm, qm);
  CHECK(flow.output.shape() == Shape({2, 5, 16}));
  // The last item: query positions 1, 2 and context positions 3, 4 are padding.
  for (int64_t t = 0; t < 5; ++t) {
    CHECK(flow.c2q.at({1, t, 0}) == doctest::Approx(1.f));
    CHECK(flow.c2q.at({1, t, 2}) == 0.f);
  }
  CHECK(flow.q2c.at({1, 3}) == 0.f);
  CHECK(flow.q2c.at({1, 0}) + flow.q2c.at({1, 1}) + flow.q2c.at({1, 2}) == doctest::Approx(1.f));

  nn::Coattention co(4, gen);
  const auto c = co.forward(passage, question, pm, qm);
  CHECK(c.output.shape() == Shape({2, 5, 8}));
  CHECK(c.document_weights.shape() == Shape({2, 6, 4}));
  // Column j of A^Q is a distribution over the sentinel and the 3 real document words.
  for (int64_t j = 0; j < 4; ++j) {
    double column = 0;
    for (int64_t i = 0; i < 6; ++i) column += c.document_weights.at({1, i, j});
    CHECK(column == doctest::Approx(1.0));
    CHECK(c.document_weights.at({1, 5, j}) == 0.f);
    CHECK(c.document_weights.at({1, 0, j}) > 0.f);
  }
  // Row i of A^D: the sentinel and the one real question word.
  for (int64_t i = 0; i < 6; ++i) {
    CHECK(c.question_weights.at({1, i, 0}) + c.question_weights.at({1, i, 1}) ==
          doctest::Approx(1.f));
    CHECK(c.question_weights.at({1, i, 3}) == 0.f);
  }
}

TEST_CASE("BiDAF and coattention: shape errors name the layer and the shapes") {
  Generator gen(3);
  nn::BiDAFAttention flow(4, gen);
  nn::Coattention co(4, gen);
  const Tensor p = rnd({2, 5, 4}, 1), q = rnd({2, 3, 4}, 2);
  CHECK_THROWS_WITH_AS(flow.forward(p, rnd({2, 3, 5}, 2)),
                       doctest::Contains("BiDAFAttention: context [2, 5, 4] and query [2, 3, 5]"),
                       Error);
  CHECK_THROWS_WITH_AS(flow.forward(p, q, last_item_padding(2, 4)),
                       doctest::Contains("context_padding_mask of shape [2, 4], expected [2, 5]"),
                       Error);
  CHECK_THROWS_WITH_AS(co.forward(p, rnd({3, 3, 4}, 2)),
                       doctest::Contains("Coattention: document [2, 5, 4] and question [3, 3, 4]"),
                       Error);
  CHECK_THROWS_WITH_AS(co.forward(p, q, Tensor(), last_item_padding(2, 5)),
                       doctest::Contains("question_padding_mask of shape [2, 5], expected [2, 3]"),
                       Error);
}
