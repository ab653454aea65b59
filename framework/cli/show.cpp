#include "framework/cli/show.h"

#include <iostream>

#include "framework/show.h"

namespace heed::cli {

ShowCommand::ShowCommand(CLI::App& app)
    : command_(app.add_subcommand(
          "show", "print a checkpoint's step, metrics, recipe and a table of its tensors")) {
  command_->add_option("path", path_, "checkpoint file, or run directory (its checkpoints/last.h5)")
      ->required();
  command_->add_flag("--json", json_, "print one JSON object instead of text");
}

int ShowCommand::run() const {
  const nlohmann::json report = describe_checkpoint(path_);
  if (json_)
    std::cout << report.dump() << "\n";
  else
    std::cout << format_checkpoint_report(report);
  return 0;
}

}  // namespace heed::cli
