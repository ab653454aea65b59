#include "workspace.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace heed::fuzz {

namespace {

constexpr int kExamples = 8;  // as many as make_seeds.sh trains the seed checkpoints on
constexpr int kSide = 28;

std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims,
                               const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t dim : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(dim >> shift));
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out.good()) finding("cannot write " + path.string());
}

}  // namespace

Workspace::Workspace() {
  const std::filesystem::path data = dir_.fs_path() / "fashion-mnist";
  std::filesystem::create_directory(data);
  std::vector<uint8_t> pixels(kExamples * kSide * kSide), labels(kExamples);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7);
  for (int i = 0; i < kExamples; ++i) labels[i] = static_cast<uint8_t>(i);
  // Plain (not gzipped) names: read_fashion_mnist falls back to them.
  for (const char* split : {"train", "t10k"}) {
    write_file(data / (std::string(split) + "-images-idx3-ubyte"),
               idx_bytes({kExamples, kSide, kSide}, pixels));
    write_file(data / (std::string(split) + "-labels-idx1-ubyte"), idx_bytes({kExamples}, labels));
  }
}

std::string Workspace::write(const std::string& name, const uint8_t* data, size_t size) const {
  const std::filesystem::path path = dir_.fs_path() / name;
  write_file(path, std::vector<uint8_t>(data, data + size));
  return path.string();
}

std::string Workspace::fashion_mnist() const {
  return dir_.file("fashion-mnist");
}

void rejected(const std::exception& error) {
  static const bool verbose = std::getenv("HEED_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "rejected: %s\n", error.what());
}

void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz finding: %s\n", what.c_str());
  std::abort();
}

}  // namespace heed::fuzz
