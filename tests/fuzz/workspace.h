#pragma once
// What the fuzz targets share (docs/fuzzing.md): a scratch directory for the files that heed's
// readers take by path, and a fake Fashion-MNIST of eight examples, so that a recipe builds its
// Trainer (what `heed train --dry-run` validates) without reading the real 60,000 images.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "temp_dir.h"

namespace heed::fuzz {

class Workspace {
 public:
  /// A fresh directory under $TMPDIR holding fashion-mnist/, removed at exit (a crash leaves it
  /// behind: tools/fuzz.sh points TMPDIR at its own scratch directory).
  Workspace();

  /// Writes `size` bytes to `name` inside the directory, replacing it; returns its path.
  std::string write(const std::string& name, const uint8_t* data, size_t size) const;
  /// The fake Fashion-MNIST directory: train and test splits of eight 28x28 images, labels 0..7.
  std::string fashion_mnist() const;
  const testing::TempDir& dir() const { return dir_; }

 private:
  testing::TempDir dir_;
};

/// An input was rejected with a heed::Error, the expected outcome of a bad input: prints the
/// message when HEED_FUZZ_VERBOSE is set (to see why a seed does not get far), else nothing.
void rejected(const std::exception& error);

/// Aborts with `what` on stderr: for a broken invariant that is not an exception, so that
/// libFuzzer reports it as a crash with the input that caused it.
[[noreturn]] void finding(const std::string& what);

}  // namespace heed::fuzz
