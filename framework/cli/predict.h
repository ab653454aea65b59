#pragma once
// `heed predict RUN_DIR [--beam K] [--length-penalty A] [--checkpoint FILE] [FILE|-]`: a seq2seq
// run's output for each line of FILE (or standard input): one word per line in, its phonemes out
// for a grapheme-to-phoneme run, as CMUdict 0.7b writes an entry ("hello  HH AH L OW"). Each
// line's characters are the input tokens; a letter the vocabulary lacks is read in lowercase when
// the vocabulary has that (CMUdict's words are lowercase). A character outside the vocabulary is
// an error naming the line, the character and the vocabulary. A blank line gives a blank line.
// Greedy decoding by default, beam search with --beam (framework/search.h).
//
//   PredictCommand predict(app);   // registers the subcommand with CLI11
//   if (predict.parsed()) return predict.run(trainer);

#include <CLI/CLI.hpp>
#include <string>

#include "framework/search.h"

namespace heed {
class Trainer;
}

namespace heed::cli {

class PredictCommand {
 public:
  explicit PredictCommand(CLI::App& app);
  bool parsed() const { return command_->parsed(); }
  const std::string& run_dir() const { return run_dir_; }
  const std::string& checkpoint() const { return checkpoint_; }
  /// Prints one output line per input line to stdout; returns the exit status. Throws heed::Error
  /// (the caller prints it) when the run is not a seq2seq run, the file cannot be read, or a line
  /// holds a character outside the input vocabulary.
  int run(Trainer& trainer) const;

 private:
  CLI::App* command_;
  std::string run_dir_, checkpoint_, input_ = "-";
  SearchOptions search_;
};

}  // namespace heed::cli
