#pragma once
// Generator: the one seedable random stream of a run (initialization, dropout masks, shuffling).
//
// xoshiro256** (Blackman & Vigna 2018) seeded through splitmix64: four 64-bit words of state,
// saved in checkpoints so that a resumed run continues the same stream. Bulk draws used inside
// parallel loops (dropout) take one 64-bit key from the stream and derive element i's number from
// (key, i) with a counter-based hash, so the values do not depend on the number of threads.

#include <array>
#include <cstdint>

namespace heed {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { manual_seed(seed); }
  void manual_seed(uint64_t seed);

  uint64_t next_u64();
  /// Uniform float in [0, 1) with 24 random bits.
  float uniform();
  /// Standard normal (Box-Muller, no cached second value, so the state is just the four words).
  float normal();
  /// Uniform integer in [0, n).
  uint64_t below(uint64_t n);

  std::array<uint64_t, 4> state() const { return s_; }
  void set_state(const std::array<uint64_t, 4>& state) { s_ = state; }

 private:
  std::array<uint64_t, 4> s_{};
};

/// splitmix64 of x: a good 64-bit mix, used as a counter-based generator keyed by (key + i).
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// Uniform float in [0, 1) from 24 bits of mix64(key + i).
inline float counter_uniform(uint64_t key, uint64_t i) {
  return static_cast<float>(mix64(key + i) >> 40) * (1.0f / 16777216.0f);
}

}  // namespace heed
