#pragma once
// Files a run can trust: every file of a run directory is written atomically or appended in whole
// lines, every write is checked, and a failure is one heed::Error naming the file and the cause
// ("cannot write runs/x/summary.json: No space left on device") that leaves earlier files as
// they were.
//
//   files::write_atomically("runs/x/summary.json", summary.dump(2) + "\n");
//   files::AppendFile metrics("runs/x/metrics.jsonl");
//   metrics.append(line.dump() + "\n");   // one write(2); a short write is truncated away
//   metrics.sync();                       // before a checkpoint records metrics.size()
//
// Test hooks (read once per process, for the tests of full disks and kills mid-write):
//   HEED_TEST_WRITE_LIMIT=N     writes fail with ENOSPC once N bytes in all have been written
//   HEED_TEST_SLOW_WRITES_MS=T  write_atomically sleeps T ms before it renames (a kill then lands
//                               inside the write)

#include <cstdint>
#include <string>
#include <string_view>

namespace heed::files {

/// Writes `bytes` to `path` as one step: into `path`.tmp<pid> beside it, each write checked,
/// fsync, rename over `path`, fsync of the directory. A crash or kill at any moment leaves the old
/// file or the new one; on any error the temporary file is removed and `path` is untouched.
/// Throws heed::Error naming `path` (as "<kind> <path>") and the system's reason.
void write_atomically(const std::string& path, std::string_view bytes,
                      const std::string& kind = "file");

/// The whole content of `path`; throws heed::Error naming it when it cannot be read.
std::string read(const std::string& path, const std::string& kind = "file");

/// fsync of a directory, so that a rename or a new entry in it survives a power loss.
void sync_directory(const std::string& dir);

/// True for a temporary file that write_atomically leaves behind when killed (name.tmp<digits>).
bool is_temporary(const std::string& filename);

/// An append-only text file of whole lines (metrics.jsonl). Each append() is one write(2) of
/// whole lines; if it fails or is short (disk full), the file is cut back to its previous size so
/// that it stays a sequence of whole lines, and heed::Error names the file and the cause.
class AppendFile {
 public:
  AppendFile() = default;
  /// Opens (creating) `path` for appending. Throws heed::Error naming it.
  explicit AppendFile(const std::string& path);
  AppendFile(AppendFile&& other) noexcept;
  AppendFile& operator=(AppendFile&& other) noexcept;
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;
  ~AppendFile();

  void append(std::string_view lines);
  /// fsync: what was appended is on disk.
  void sync();
  /// The file's size in bytes.
  int64_t size() const;
  /// Cuts the file to `bytes` (the size a checkpoint recorded), dropping what came after.
  void truncate(int64_t bytes);
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace heed::files
