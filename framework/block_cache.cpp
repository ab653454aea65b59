#include "framework/block_cache.h"

#include <cstdlib>
#include <list>
#include <mutex>
#include <utility>

namespace heed::block_cache {

namespace {

struct Cache {
  std::mutex mutex;
  std::list<std::pair<size_t, void*>> free;  // (bytes, block), the most recently freed first
  size_t bytes = 0;

  // Frees the least recently freed blocks until at most `keep` bytes stay cached.
  void shrink_to(size_t keep) {
    while (bytes > keep) {
      std::free(free.back().second);
      bytes -= free.back().first;
      free.pop_back();
    }
  }
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: storage may be freed during static teardown
  return *c;
}

}  // namespace

void* allocate(size_t bytes) {
  Cache& c = cache();
  {
    const std::lock_guard<std::mutex> lock(c.mutex);
    for (auto it = c.free.begin(); it != c.free.end(); ++it)
      if (it->first == bytes) {
        void* block = it->second;
        c.bytes -= bytes;
        c.free.erase(it);
        return block;
      }
  }
  if (void* block = std::aligned_alloc(64, bytes)) return block;
  // Out of memory: what the cache holds may make room.
  const std::lock_guard<std::mutex> lock(c.mutex);
  c.shrink_to(0);
  return std::aligned_alloc(64, bytes);
}

void release(void* block, size_t bytes) {
  if (bytes > kCapacity) {
    std::free(block);
    return;
  }
  Cache& c = cache();
  const std::lock_guard<std::mutex> lock(c.mutex);
  c.free.emplace_front(bytes, block);
  c.bytes += bytes;
  c.shrink_to(kCapacity);
}

size_t cached_bytes() {
  Cache& c = cache();
  const std::lock_guard<std::mutex> lock(c.mutex);
  return c.bytes;
}

}  // namespace heed::block_cache
