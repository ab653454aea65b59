#pragma once
// The allocator of tensor storage above glibc's mmap threshold (128 MiB, framework/tensor.cpp).
//
// glibc maps such a block fresh on every allocation and unmaps it on free, so a training step
// that needs one (oneDNN's LSTM workspace of a 512-wide layer over 64 x 128 tokens, ~150 MB)
// page-faults it in again each step: on these virtual machines that was half of the text
// recipes' step on oneDNN's path (heed_bench lstm_lm_bf16 at their shape: 993 -> 478.5 ms). A
// training loop asks for the same sizes every step, so freed blocks are kept by exact size for
// the next request, as PyTorch's caching allocator does, up to kCapacity bytes in all, the least
// recently freed given back first. Thread-safe.

#include <cstddef>

namespace heed::block_cache {

/// Blocks of at least this many bytes go through the cache (glibc's mmap threshold as heed sets
/// it).
constexpr size_t kMinBytes = size_t{128} << 20;
/// The most bytes kept free in the cache.
constexpr size_t kCapacity = size_t{1} << 30;

/// A 64-byte aligned block of `bytes` (a multiple of 64): a cached one of exactly that size, else
/// a new one; nullptr when the machine has no memory left even after emptying the cache.
void* allocate(size_t bytes);

/// Gives back a block from allocate(bytes): kept for reuse, or freed when the cache is full.
void release(void* block, size_t bytes);

/// Bytes held free in the cache now.
size_t cached_bytes();

}  // namespace heed::block_cache
