#pragma once
// A fresh directory under the system's temp folder, removed with everything in it at scope exit.

#include <filesystem>
#include <random>
#include <string>

namespace heed::testing {

class TempDir {
 public:
  TempDir() {
    std::random_device random;
    do {
      path_ = std::filesystem::temp_directory_path() /
              ("heed_test_" + std::to_string(random()) + "_" + std::to_string(random()));
    } while (!std::filesystem::create_directory(path_));
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// The path of `name` inside the directory.
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string path() const { return path_.string(); }
  const std::filesystem::path& fs_path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace heed::testing
