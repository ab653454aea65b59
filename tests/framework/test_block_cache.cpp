// framework/block_cache.h: large freed blocks are reused by exact size, bounded in all.

#include <doctest/doctest.h>

#include "framework/block_cache.h"
#include "framework/tensor.h"

using namespace heed;

TEST_CASE("block_cache: a freed block serves the next request of its size, not of another") {
  const size_t size = block_cache::kMinBytes + 64, other = block_cache::kMinBytes + 128;
  const size_t before = block_cache::cached_bytes();
  void* a = block_cache::allocate(size);
  REQUIRE(a != nullptr);
  block_cache::release(a, size);
  CHECK(block_cache::cached_bytes() == before + size);
  void* b = block_cache::allocate(other);
  CHECK(b != a);
  CHECK(block_cache::allocate(size) == a);
  CHECK(block_cache::cached_bytes() == before);
  block_cache::release(a, size);
  block_cache::release(b, other);
}

TEST_CASE("block_cache: never more than kCapacity bytes cached; the oldest given back first") {
  const size_t size = block_cache::kMinBytes;  // eight of them fill the 1 GiB
  std::vector<void*> blocks;
  for (size_t i = 0; i < block_cache::kCapacity / size + 3; ++i)
    blocks.push_back(block_cache::allocate(size + 64 * i));
  for (size_t i = 0; i < blocks.size(); ++i) block_cache::release(blocks[i], size + 64 * i);
  CHECK(block_cache::cached_bytes() <= block_cache::kCapacity);
  // The last released is still there; the first was given back to the system.
  const size_t last = blocks.size() - 1;
  CHECK(block_cache::allocate(size + 64 * last) == blocks[last]);
  block_cache::release(blocks[last], size + 64 * last);
}

TEST_CASE("block_cache: a large tensor's storage comes back to the next tensor of its size") {
  const int64_t floats = static_cast<int64_t>(block_cache::kMinBytes / sizeof(float)) + 16;
  const void* first = nullptr;
  {
    const Tensor t = Tensor::empty({floats});
    first = t.data();
  }
  const Tensor again = Tensor::empty({floats});
  CHECK(again.data() == first);
}
