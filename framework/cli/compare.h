#pragma once
// `heed compare STUDY.json [--out DIR] [--jobs N] [--dry-run]`: trains every run of a study
// (framework/study.h: variants x grid points x seeds), each an ordinary run directory
// DIR/<variant>[/<point>]/seed-<seed> that `heed eval`, `inspect` and `train --resume` take alone.
//
// Runs go N at a time, each a `heed train` process of its own with train.threads = cores / N, so
// that OpenMP's threads never outnumber the cores. Beside each run directory are the recipe it
// was started from (seed-<seed>.recipe.json) and its output (seed-<seed>.log). The study's
// directory is locked (DIR/.lock) while a compare runs in it.
//
// Running the same command again continues the study: runs that ended are skipped, runs with a
// checkpoint resume from it, the others start. A run whose recipe differs from what the study
// now gives it (the study file or its base changed) is named with its first difference, and
// nothing runs until it is moved away or the study restored.
//
// Under `mpirun -np N heed compare` (framework/communicator.h, docs/distributed.md) whole runs
// spread over the ranks: rank r trains every N-th run left (from the r-th), --jobs at a time with
// the machine's cores divided among its ranks and jobs; each run is an ordinary one-process `heed
// train`. Rank 0 holds the lock and writes the report once every rank is done. The study
// directory must be on a file system every rank sees.
//
// Ctrl-C (SIGINT) or SIGTERM is passed once to every running run, which checkpoints and stops;
// the command then exits with 130 or 143. A run that fails is reported with its log and the
// others go on; the command then exits with 1.

#include <CLI/CLI.hpp>
#include <string>

namespace heed::cli {

class CompareCommand {
 public:
  explicit CompareCommand(CLI::App& app);
  bool parsed() const { return command_->parsed(); }
  /// Returns the exit status; throws heed::Error (the caller prints it) for a malformed study, a
  /// recipe of the study that does not build (with --dry-run), a study directory in use, or runs
  /// that no longer match the study.
  int run() const;

 private:
  CLI::App* command_;
  std::string study_, out_;
  int64_t jobs_ = 1;
  bool dry_run_ = false;
};

}  // namespace heed::cli
