#include "framework/cli/predict.h"

#include <unistd.h>

#include <fstream>
#include <iostream>

#include "framework/trainer.h"
#include "framework/utf8.h"

namespace heed::cli {

PredictCommand::PredictCommand(CLI::App& app) {
  command_ = app.add_subcommand(
      "predict", "decode each line of a file with a seq2seq run (a word's phonemes for G2P)");
  command_->add_option("run_dir", run_dir_, "run directory")->required();
  command_->add_option("input", input_, "file of one input per line; - or none: standard input");
  command_->add_option("--checkpoint", checkpoint_,
                       "checkpoint file (default: RUN_DIR/checkpoints/last.h5)");
  command_->add_option("--beam", search_.beam_size, "beam size; 1: greedy decoding (1)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  command_
      ->add_option("--length-penalty", search_.length_penalty,
                   "beam search ranks by log-probability / length^A (1)")
      ->check(CLI::Range(0.f, 100.f));
}

namespace {

// The input tokens of one line: its characters, each as the vocabulary holds it (or lowercased).
std::vector<int64_t> encode_line(const std::string& line, int64_t number, const std::string& name,
                                 const Vocabulary& vocab) {
  std::vector<int64_t> ids;
  for (std::string c : utf8_characters(line, name, number)) {
    if (!vocab.contains(c) && c.size() == 1) c[0] = static_cast<char>(std::tolower(c[0]));
    if (!vocab.contains(c)) {
      std::string known;
      for (int64_t i = Vocabulary::kNumSpecial; i < vocab.size(); ++i) known += vocab.token(i);
      throw Error(name + ":" + std::to_string(number) + ": the character \"" + c +
                  "\" is not in the run's input vocabulary (" +
                  std::to_string(vocab.size() - Vocabulary::kNumSpecial) + " characters: " + known +
                  ")");
    }
    ids.push_back(vocab.id(c));
  }
  return ids;
}

}  // namespace

int PredictCommand::run(Trainer& trainer) const {
  const auto* model = dynamic_cast<const SequenceTransducer*>(&trainer.model());
  if (model == nullptr)
    throw Error("run " + run_dir_ + ": its model (" + trainer.model().repr() +
                ") does not decode sequences; heed predict needs a seq2seq run");
  const Vocabulary& source = *trainer.data_info().input_vocab;
  const Vocabulary& target = *trainer.data_info().target_vocab;
  std::ifstream file;
  const bool from_stdin = input_ == "-";
  if (!from_stdin) {
    file.open(input_);
    if (!file) throw Error(input_ + ": cannot be read");
  }
  std::istream& in = from_stdin ? std::cin : file;
  const std::string name = from_stdin ? "<stdin>" : input_;
  trainer.model().eval();
  // At a terminal each line is answered at once; from a file or a pipe, in batches.
  const size_t batch = from_stdin && isatty(STDIN_FILENO) ? 1 : trainer.options().eval_batch_size;
  std::vector<std::string> lines;
  std::vector<Example> examples;  // of the lines that are not blank
  auto flush = [&] {
    std::vector<Hypothesis> outputs;
    if (!examples.empty()) outputs = model->decode(collate(examples, TargetKind::Tokens), search_);
    auto next = outputs.begin();
    for (const std::string& line : lines) {
      std::cout << line;
      if (!line.empty()) {
        std::cout << " ";
        for (const std::string& t : target.decode((next++)->tokens)) std::cout << " " << t;
      }
      std::cout << "\n";
    }
    std::cout.flush();
    lines.clear();
    examples.clear();
  };
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    // Surrounding blanks (and a Windows line end) are not part of the word.
    const size_t first = line.find_first_not_of(" \t\r");
    line = first == std::string::npos
               ? ""
               : line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    if (!line.empty())
      examples.push_back({encode_line(line, number, name, source), {Vocabulary::kEos}});
    lines.push_back(line);
    if (lines.size() == batch) flush();
  }
  flush();
  return 0;
}

}  // namespace heed::cli
