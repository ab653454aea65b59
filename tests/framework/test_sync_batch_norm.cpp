// Synchronized batch normalization (framework/ops/sync_batch_norm.h) on one rank: its own
// statistics and gradient formulas equal oneDNN's batch_norm (framework/ops/batch_norm.cpp) and
// finite differences; over 2 ranks it is checked in tests/framework/test_distributed.cpp.

#include <doctest/doctest.h>

#include "framework/communicator.h"
#include "framework/ops.h"
#include "framework/ops/sync_batch_norm.h"
#include "gradcheck.h"
#include "testing.h"

using namespace heed;
using namespace heed::testing;

namespace {

using V = const std::vector<Tensor>&;

// batch_norm in training, synchronized over this process (one rank) or not.
Tensor norm(V x, bool sync, const Tensor& running_mean, const Tensor& running_var) {
  const Communicator& world = Communicator::world();
  if (!sync) return ops::batch_norm(x[0], running_mean, running_var, x[1], x[2], true);
  const ops::SyncBatchNorm scope(world);
  return ops::batch_norm(x[0], running_mean, running_var, x[1], x[2], true);
}

}  // namespace

TEST_CASE(
    "sync_batch_norm on one rank: oneDNN's batch_norm's output, running statistics and "
    "gradients") {
  REQUIRE(Communicator::world().size() == 1);
  for (const Shape& shape : {Shape{4, 3, 2, 5}, Shape{6, 4}, Shape{3, 2, 7}}) {
    CAPTURE(shape);
    const int64_t c = shape[1];
    std::vector<Tensor> outs, grads;
    std::vector<std::vector<float>> stats;
    for (const bool sync : {false, true}) {
      const Tensor x = rnd(shape, 40, -2.f, 3.f).requires_grad_(true);
      const Tensor w = rnd({c}, 41, 0.5f, 1.5f).requires_grad_(true);
      const Tensor b = rnd({c}, 42).requires_grad_(true);
      const Tensor mean = Tensor::zeros({c}), var = Tensor::ones({c});
      const Tensor y = norm({x, w, b}, sync, mean, var);
      ops::sum(ops::mul(y, rnd(shape, 43))).backward();
      outs.push_back(y.detach());
      grads.insert(grads.end(), {x.grad(), w.grad(), b.grad()});
      stats.push_back(mean.to_vector()), stats.push_back(var.to_vector());
    }
    check_close(outs[1].to_vector(), outs[0].to_vector(), 1e-5f, 1e-5f, "output");
    const char* names[] = {"x's gradient", "weight's gradient", "bias's gradient"};
    for (size_t i = 0; i < 3; ++i)
      check_close(grads[3 + i].to_vector(), grads[i].to_vector(), 1e-4f, 1e-4f, names[i]);
    check_close(stats[2], stats[0], 1e-6f, 1e-6f, "running_mean");
    check_close(stats[3], stats[1], 1e-6f, 1e-5f, "running_var (unbiased)");
  }
}

TEST_CASE("sync_batch_norm: finite differences, affine and not; eval is never synchronized") {
  check_gradients({"sync_batch_norm [4, 3, 2, 2], affine",
                   [](V x) { return norm(x, true, Tensor(), Tensor()); },
                   {rnd({4, 3, 2, 2}, 30), rnd({3}, 31, 0.5f, 1.5f), rnd({3}, 32)},
                   3e-3f,
                   3e-2f,
                   1e-2f});
  check_gradients({"sync_batch_norm [5, 4], no affine",
                   [](V x) {
                     const ops::SyncBatchNorm scope(Communicator::world());
                     return ops::batch_norm(x[0], Tensor(), Tensor(), Tensor(), Tensor(), true);
                   },
                   {rnd({5, 4}, 33)},
                   3e-3f,
                   3e-2f,
                   1e-2f});
  // Eval inside a scope normalizes by the running statistics, as without it.
  const Tensor x = rnd({2, 3}, 50), mean = rnd({3}, 51), var = rnd({3}, 52, 0.5f, 2.f);
  const Tensor plain = ops::batch_norm(x, mean, var, Tensor(), Tensor(), false);
  const ops::SyncBatchNorm scope(Communicator::world());
  CHECK(ops::batch_norm(x, mean, var, Tensor(), Tensor(), false).to_vector() == plain.to_vector());
  CHECK(ops::SyncBatchNorm::active() == &Communicator::world());
}

TEST_CASE("sync_batch_norm: one value per channel over every rank is refused, naming the shape") {
  const ops::SyncBatchNorm scope(Communicator::world());
  CHECK_THROWS_WITH(
      ops::batch_norm(rnd({1, 3}, 1), Tensor(), Tensor(), Tensor(), Tensor(), true),
      "sync_batch_norm: expected more than 1 value per channel over the 1 ranks when training, "
      "got input [1, 3] on this rank");
}
