#pragma once
// `heed show PATH [--json]`: a checkpoint's progress, metrics, recipe summary and a table of its
// tensors (framework/show.h builds the report; this file is the command line around it).
//
//   ShowCommand show(app);              // registers the subcommand with CLI11
//   if (show.parsed()) return show.run();

#include <CLI/CLI.hpp>
#include <string>

namespace heed::cli {

class ShowCommand {
 public:
  explicit ShowCommand(CLI::App& app);
  bool parsed() const { return command_->parsed(); }
  /// Prints the report (text, or one JSON object with --json) to stdout; returns the exit status.
  /// Throws heed::Error (the caller prints it) when the checkpoint cannot be read.
  int run() const;

 private:
  CLI::App* command_;
  std::string path_;
  bool json_ = false;
};

}  // namespace heed::cli
