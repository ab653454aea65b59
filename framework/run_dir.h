#pragma once
// RunDir: a run directory, held by one process at a time.
//
// A run directory holds recipe.resolved.json, metrics.jsonl, summary.json and checkpoints/
// (last.h5; step_<N>.h5 with train.keep_checkpoints > 1; best.h5 with early stopping), and a
// `.lock` file. The lock is flock(2) on `.lock`, held for the RunDir's lifetime; the kernel
// releases it when the process ends however it ends, so a killed run never leaves its directory
// locked, while a second `heed train` or `--resume` of a live run is refused with a message
// naming the process that holds it. Claiming a directory also removes the temporary files
// (`*.tmp<pid>`) that a process killed inside a write leaves behind.
//
//   RunDir dir = RunDir::create_numbered("runs/quickstart", "heed train recipes/quickstart.json");
//   Trainer trainer(recipe, dir.path());

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace heed {

/// The JSON of a file a run writes (summary.json, recipe.resolved.json). Throws heed::Error
/// naming the file when it cannot be read or is not JSON.
nlohmann::json read_run_json(const std::string& path);

/// Takes the flock of `dir`/.lock and writes `me` into it (for the message another process gets);
/// returns the descriptor that holds the lock (the lock ends when it is closed or the process
/// ends), or -1 when another process holds it, with `holder` set to what that one wrote. Throws
/// heed::Error naming `dir` when the lock file cannot be opened. RunDir and a study's directory
/// (`heed compare`) lock this way.
int try_lock(const std::filesystem::path& dir, const std::string& me, std::string& holder);

class RunDir {
 public:
  /// A new run at exactly `path` (`heed train --out`): creates the directory, or takes an empty
  /// one, or reuses a run directory whose run stopped before its first checkpoint (its old files
  /// are removed). Throws heed::Error naming `path` when it holds a checkpoint (resume it
  /// instead), is held by another process, or is a non-empty directory that is not a run.
  /// `holder` describes this process for the message another one would get.
  static RunDir create(const std::string& path, const std::string& holder);
  /// A new run at `base`, else `base`-2, `base`-3, ...: the first one create() accepts.
  static RunDir create_numbered(const std::string& base, const std::string& holder);
  /// An existing run directory, for `heed train --resume`. Throws heed::Error naming `path` when
  /// it is missing, not a run, or held by another process.
  static RunDir open(const std::string& path, const std::string& holder);

  RunDir(RunDir&& other) noexcept;
  RunDir& operator=(RunDir&& other) noexcept;
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;
  ~RunDir();

  const std::string& path() const { return path_; }
  /// True when create() reused a directory whose earlier run had no checkpoint.
  bool reused() const { return reused_; }
  /// Removes the directory again if this RunDir made it and nothing was written into it (the
  /// recipe failed to build), releasing the lock.
  void discard_if_unused();

  /// True when `dir` has a checkpoint (any checkpoints/*.h5 that is not a temporary file).
  static bool has_checkpoint(const std::string& dir);

 private:
  RunDir(std::string path, int lock_fd, bool created, bool reused);
  /// The directory at `path` claimed for a new run, or nullopt with `refusal` saying why not.
  static std::optional<RunDir> claim(const std::string& path, const std::string& holder,
                                     std::string& refusal);

  std::string path_;
  int lock_fd_ = -1;
  bool created_ = false;
  bool reused_ = false;
};

}  // namespace heed
