// The `heed` command line: train, resume, evaluate and list (CLI11 parses the arguments).
//
//   heed train RECIPE.json [--out DIR] [--set path.to.key=value ...] [--dry-run]
//   heed train --resume RUN_DIR [--set ...]
//   heed eval RUN_DIR [--checkpoint FILE] [--split test|dev|train] [--beam K] [--length-penalty A]
//             [--dynamic-lr LR [--dynamic-decay D]] [--set path.to.key=value ...]
//   heed inspect RUN_DIR [--checkpoint FILE] [--split test|dev|train] [--samples N | --index I ...]
//                [--out FILE.h5]
//   heed generate RUN_DIR --prompt TEXT [--length N] [--temperature T] [--top-k K] [--seed S]
//                 [--checkpoint FILE]
//   heed predict RUN_DIR [FILE|-] [--beam K] [--length-penalty A] [--checkpoint FILE]
//   heed show PATH [--json]
//   heed compare STUDY.json [--out DIR] [--jobs N] [--dry-run]
//   heed list
//
// Every failure prints one line "heed: error: ..." to stderr and exits with status 1, or 2 for
// an error in the arguments themselves (with a hint: "see heed train --help"); a training run
// stopped by SIGINT or SIGTERM exits with 130 or 143 after saving its checkpoint.
//
// Under an MPI launcher (`mpirun -np N heed train ...`, docs/distributed.md) every rank runs the
// command; rank 0 alone prints and writes the run directory, the others print only their errors
// ("heed: error: rank 1: ..."), and an error on any rank ends the whole job.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "framework/cli/compare.h"
#include "framework/cli/predict.h"
#include "framework/cli/show.h"
#include "framework/communicator.h"
#include "framework/config.h"
#include "framework/files.h"
#include "framework/recipe.h"
#include "framework/run_dir.h"
#include "framework/sampling.h"
#include "framework/signals.h"
#include "framework/trainer.h"
#include "framework/utf8.h"

namespace fs = std::filesystem;
using heed::Error;

namespace {

struct TrainArgs {
  std::string recipe, out, resume;
  std::vector<std::string> sets;
  bool dry_run = false;
};

struct EvalArgs {
  std::string run_dir, checkpoint, split = "test";
  int64_t beam = 0;                  // 0: the recipe's train.beam_size
  float length_penalty = -1.f;       // < 0: the recipe's train.length_penalty
  std::optional<double> dynamic_lr;  // dynamic evaluation's step size, when given
  double dynamic_decay = 0;
  std::vector<std::string> sets;  // recipe overrides for this evaluation (the run's file unchanged)
};

struct InspectArgs {
  EvalArgs run;
  int64_t samples = 8;
  std::vector<int64_t> indices;
  std::string out;
};

struct GenerateArgs {
  EvalArgs run;
  std::string prompt;
  int64_t length = 200;
  heed::SamplingOptions sampling;
  uint64_t seed = 0;
};

nlohmann::json read_json(const fs::path& path) {
  if (!fs::exists(path))
    throw Error("run " + path.parent_path().string() + ": " + path.filename().string() +
                " is missing");
  try {
    return nlohmann::json::parse(heed::files::read(path.string(), "run file"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": corrupt JSON (" + e.what() + ")");
  }
}

void write_json(const fs::path& path, const nlohmann::json& value) {
  heed::files::write_atomically(path.string(), value.dump(2) + "\n", "run file");
}

// This process as the lock file of its run directory names it to another one.
std::string g_command_line;

// Trains to the end; prints summary.json's content; 128 + the signal when a signal stopped it.
int run_training(heed::Trainer& trainer) {
  const nlohmann::json summary = trainer.train();
  std::cout << summary.dump() << "\n";
  return summary["status"] == "interrupted" ? 128 + heed::stop_signal() : 0;
}

// --out as given; else output.dir; else runs/<recipe name>, with -2, -3, ... when taken.
heed::RunDir claim_run_dir(const TrainArgs& a, const nlohmann::json& recipe) {
  if (!a.out.empty()) return heed::RunDir::create(a.out, g_command_line);
  const auto output = recipe.value("output", nlohmann::json::object());
  const std::string base = output.is_object() && output.contains("dir") && output["dir"].is_string()
                               ? output["dir"].get<std::string>()
                               : "runs/" + fs::path(a.recipe).stem().string();
  return heed::RunDir::create_numbered(base, g_command_line);
}

// Every rank must train the same recipe with the same program: a difference would only show as
// parameters drifting apart.
void require_same_job(const nlohmann::json& recipe) {
  const heed::Communicator& world = heed::Communicator::world();
  if (world.size() == 1) return;
  world.require_same("the recipe", recipe.dump());
  world.require_same("the heed binary", heed::files::read("/proc/self/exe", "program"));
}

int train_new(const TrainArgs& a) {
  const nlohmann::json recipe = heed::load_recipe(a.recipe, a.sets);
  require_same_job(recipe);
  if (a.dry_run) {
    heed::Trainer trainer(recipe, "(dry run)");
    std::cout << trainer.describe();
    std::cout << "recipe " << a.recipe << " is valid; --dry-run trains nothing\n";
    return 0;
  }
  // Rank 0 claims the directory; the others learn its name.
  const heed::Communicator& world = heed::Communicator::world();
  std::optional<heed::RunDir> dir;
  std::string path;
  if (world.root()) dir = claim_run_dir(a, recipe), path = dir->path();
  world.broadcast(path);
  std::unique_ptr<heed::Trainer> trainer;
  try {
    trainer = std::make_unique<heed::Trainer>(recipe, path);
  } catch (...) {
    if (dir) dir->discard_if_unused();
    throw;
  }
  std::cout << trainer->describe();
  if (dir) {
    write_json(fs::path(path) / "recipe.resolved.json", recipe);
    std::cerr << "run directory: " << path
              << (dir->reused() ? " (reused: its earlier run stopped before its first checkpoint)"
                                : "")
              << (world.size() > 1 ? " (" + std::to_string(world.size()) + " ranks)" : "") << "\n";
  }
  return run_training(*trainer);
}

// Restores `trainer` from the run's last.h5, or, when that cannot be read and the run keeps
// step_<N>.h5 checkpoints (train.keep_checkpoints), from the newest of those that can; returns
// the file used, "" when the run has no checkpoint.
std::string restore_newest(heed::Trainer& trainer, const fs::path& dir) {
  const fs::path last = dir / "checkpoints" / "last.h5";
  std::vector<std::pair<int64_t, fs::path>> older;
  if (fs::is_directory(dir / "checkpoints"))
    for (const auto& entry : fs::directory_iterator(dir / "checkpoints")) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("step_", 0) == 0 && entry.path().extension() == ".h5")
        older.emplace_back(std::atoll(name.c_str() + 5), entry.path());
    }
  std::sort(older.rbegin(), older.rend());
  if (!fs::exists(last) && older.empty()) return "";
  try {
    trainer.restore(last.string());
    return last.string();
  } catch (const Error& e) {
    if (older.empty()) throw;
    std::cerr << "heed: warning: " << e.what() << "\n";
    for (const auto& [step, file] : older) {
      try {
        trainer.restore(file.string());
        std::cerr << "heed: warning: resuming from the older " << file.string() << "\n";
        return file.string();
      } catch (const Error& older_error) {
        std::cerr << "heed: warning: " << older_error.what() << "\n";
      }
    }
    throw;
  }
}

int train_resume(const TrainArgs& a) {
  const heed::Communicator& world = heed::Communicator::world();
  std::optional<heed::RunDir> dir;  // rank 0 holds the lock
  if (world.root()) dir = heed::RunDir::open(a.resume, g_command_line);
  world.barrier();  // the others read it once rank 0 holds it
  const fs::path path = a.resume;
  const fs::path recipe_file = path / "recipe.resolved.json";
  if (!fs::exists(recipe_file))
    throw Error("run " + a.resume + " has no recipe.resolved.json: it stopped before it began; " +
                "start it again with `heed train RECIPE --out " + a.resume + "`");
  nlohmann::json recipe = read_json(recipe_file);
  heed::apply_overrides(recipe, a.sets);
  require_same_job(recipe);
  heed::Trainer trainer(recipe, a.resume);
  if (const std::string ckpt = restore_newest(trainer, path); !ckpt.empty()) {
    std::cerr << "resuming " << a.resume << " from " << ckpt << "\n";
  } else {
    std::cerr << "run " << a.resume << " has no checkpoint yet (it stopped before its first "
              << "one): starting it from the beginning\n";
  }
  if (!a.sets.empty() && world.root()) write_json(recipe_file, recipe);
  return run_training(trainer);
}

// The run's trainer restored from --checkpoint, else RUN_DIR/checkpoints/last.h5; `ckpt` is set
// to the file used.
std::unique_ptr<heed::Trainer> restored_run(const EvalArgs& a, std::string& ckpt) {
  const fs::path dir = a.run_dir;
  if (!fs::is_directory(dir)) throw Error("run " + a.run_dir + ": no such directory");
  nlohmann::json recipe = read_json(dir / "recipe.resolved.json");
  // Dynamic evaluation reads the split as one stream in text order (Krause et al. 2018).
  if (a.dynamic_lr) recipe["train"]["eval_batch_size"] = 1;
  heed::apply_overrides(recipe, a.sets);
  auto trainer = std::make_unique<heed::Trainer>(recipe, a.run_dir);
  ckpt = a.checkpoint.empty() ? (dir / "checkpoints" / "last.h5").string() : a.checkpoint;
  trainer->load_weights(ckpt);
  return trainer;
}

int evaluate(const EvalArgs& a) {
  std::string ckpt;
  const std::unique_ptr<heed::Trainer> trainer = restored_run(a, ckpt);
  heed::SearchOptions decode = trainer->options().decode;
  if (a.beam > 0) decode.beam_size = a.beam;
  if (a.length_penalty >= 0.f) decode.length_penalty = a.length_penalty;
  nlohmann::json result = a.dynamic_lr
                              ? trainer->evaluate_dynamic(a.split, {*a.dynamic_lr, a.dynamic_decay})
                              : trainer->evaluate(a.split, decode);
  if (result.is_null()) return 0;  // under mpirun, a rank other than 0: rank 0 prints the result
  result["checkpoint"] = ckpt;
  std::cout << result.dump() << "\n";
  return 0;
}

// --index as given, else the split's first --samples examples.
int inspect(const InspectArgs& a) {
  std::vector<int64_t> indices = a.indices;
  if (indices.empty())
    for (int64_t i = 0; i < a.samples; ++i) indices.push_back(i);
  const std::string out =
      a.out.empty() ? (fs::path(a.run.run_dir) / ("inspect_" + a.run.split + ".h5")).string()
                    : a.out;
  std::string ckpt;
  const nlohmann::json result = restored_run(a.run, ckpt)->inspect(a.run.split, indices, out, ckpt);
  std::cout << result.dump() << "\n";
  return 0;
}

// The prompt's characters as the run's tokens, then --length sampled ones, printed as text.
int generate(const GenerateArgs& a) {
  std::string ckpt;
  const std::unique_ptr<heed::Trainer> trainer = restored_run(a.run, ckpt);
  auto* model = dynamic_cast<heed::NextTokenModel*>(&trainer->model());
  if (model == nullptr)
    throw Error("run " + a.run.run_dir + ": its model (" + trainer->model().repr() +
                ") does not predict next tokens; heed generate needs a language_model");
  const heed::Vocabulary& vocab = *trainer->data_info().input_vocab;
  std::vector<int64_t> prompt;
  for (const std::string& c : heed::utf8_characters(a.prompt, "--prompt")) {
    if (!vocab.contains(c))
      throw Error("--prompt: the character \"" + c + "\" is not in the run's vocabulary (" +
                  std::to_string(vocab.size() - heed::Vocabulary::kNumSpecial) +
                  " characters of its training text)");
    prompt.push_back(vocab.id(c));
  }
  trainer->model().eval();
  heed::Generator gen(a.seed);
  std::cout << a.prompt;
  for (const std::string& token :
       vocab.decode(heed::generate_tokens(*model, prompt, a.length, a.sampling, gen)))
    std::cout << token;
  std::cout << "\n";
  return 0;
}

int list_registered() {
  for (const auto& group : {heed::list_datasets(), heed::list_models(), heed::list_parts(),
                            heed::list_optimizers(), heed::list_schedules()})
    for (const heed::RegistryEntry& e : group)
      std::cout << e.kind << " " << e.name << "\n  " << e.description
                << "\n  options: " << e.options << "\n";
  return 0;
}

// Exit status of an argument error, as argparse and most Unix tools use it.
constexpr int kUsageError = 2;

int usage_error(const std::string& message, const std::string& command) {
  std::string line = message;
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::cerr << "heed: error: " << line << " (see heed " << (command.empty() ? "" : command + " ")
            << "--help)\n";
  return kUsageError;
}

// The first argument names a command; CLI11 would call an unknown one an unexpected argument.
std::string unknown_command(int argc, char** argv, const CLI::App& app) {
  if (argc < 2)
    return "no command given; give one of train, eval, inspect, generate, predict, show, "
           "compare, list";
  const std::string first = argv[1];
  if (first.empty() || first[0] == '-') return "";
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == first) return "";
    names.push_back(sub->get_name());
  }
  std::string msg = "unknown command \"" + first + "\"";
  const std::string guess = heed::nearest(first, names);
  msg += guess.empty() ? ";" : "; did you mean \"" + guess + "\"?";
  msg += " the commands are";
  for (size_t i = 0; i < names.size(); ++i) msg += (i ? ", " : " ") + names[i];
  return msg;
}

// Parses the arguments; on an error prints one line and returns its exit status, on --help prints
// the help and returns 0, else returns -1 (go on).
int parse_arguments(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (const std::string unknown = unknown_command(argc, argv, app); !unknown.empty())
      return usage_error(unknown, "");
    std::string command;
    for (const CLI::App* sub : app.get_subcommands({}))
      if (sub->parsed()) command = sub->get_name();
    return usage_error(e.what(), command);
  }
  return -1;
}

// A stream buffer that drops everything: the output of ranks other than 0.
class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
};

// The command under an MPI launcher: rank 0 alone prints; any error ends every rank.
int run_ranked(int (*command)(CLI::App&, int, char**), CLI::App& app, int argc, char** argv) {
  const heed::Communicator& world = heed::Communicator::world();
  NullBuffer null;
  // The streams get their buffers back before `null` goes: they flush at exit.
  struct Silence {
    std::streambuf *out, *err;
    ~Silence() { std::cout.rdbuf(out), std::cerr.rdbuf(err); }
  } silence{std::cout.rdbuf(), std::cerr.rdbuf()};
  if (!world.root()) {
    std::cout.rdbuf(&null);
    std::cerr.rdbuf(&null);
  }
  try {
    return command(app, argc, argv);
  } catch (const std::exception& e) {
    std::string where = world.size() > 1 ? "rank " + std::to_string(world.rank()) + ": " : "";
    std::fprintf(stderr, "heed: error: %s%s\n", where.c_str(), e.what());
    std::fflush(stderr);
    if (world.size() > 1) world.abort(1);
    return 1;
  }
}

int run_command(CLI::App& app, int argc, char** argv);

}  // namespace

int main(int argc, char** argv) {
  heed::install_stop_signals();  // first: every thread created later inherits the blocked signals
  try {
    heed::Communicator::init(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "heed: error: " << e.what() << "\n";
    return 1;
  }
  CLI::App app{"heed: train, resume, evaluate and compare models from JSON recipes"};
  const int status = run_ranked(run_command, app, argc, argv);
  heed::Communicator::finalize();
  return status;
}

namespace {

int run_command(CLI::App& app, int argc, char** argv) {
  g_command_line = "heed";
  for (int i = 1; i < argc; ++i) g_command_line += std::string(" ") + argv[i];
  app.require_subcommand(1);
  TrainArgs train_args;
  EvalArgs eval_args;

  CLI::App* train = app.add_subcommand("train", "train a recipe, or resume a run with --resume");
  auto* recipe_opt =
      train->add_option("recipe", train_args.recipe, "recipe JSON file")->check(CLI::ExistingFile);
  auto* resume_opt = train->add_option("--resume", train_args.resume, "run directory to continue");
  recipe_opt->excludes(resume_opt);
  train
      ->add_option("--out", train_args.out,
                   "run directory (default: output.dir, else runs/<recipe name>)")
      ->excludes(resume_opt);
  train->add_option("--set", train_args.sets,
                    "override a recipe key: path.to.key=value (repeatable)");
  train
      ->add_flag("--dry-run", train_args.dry_run,
                 "validate, build and print the model; train nothing")
      ->excludes(resume_opt);

  CLI::App* eval = app.add_subcommand("eval", "evaluate a run's checkpoint on a split");
  eval->add_option("run_dir", eval_args.run_dir, "run directory")->required();
  eval->add_option("--checkpoint", eval_args.checkpoint,
                   "checkpoint file (default: RUN_DIR/checkpoints/last.h5)");
  eval->add_option("--split", eval_args.split, "split to evaluate")
      ->check(CLI::IsMember({"test", "dev", "train"}));
  eval->add_option("--beam", eval_args.beam,
                   "seq2seq: decode with this beam size (default: the recipe's train.beam_size)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  eval->add_option("--length-penalty", eval_args.length_penalty,
                   "seq2seq: beam search ranks by log-probability / length^A (default: the "
                   "recipe's train.length_penalty)")
      ->check(CLI::Range(0.f, 100.f));
  CLI::Option* dynamic_lr =
      eval->add_option("--dynamic-lr", eval_args.dynamic_lr,
                       "language model: dynamic evaluation (Krause et al. 2018), one gradient "
                       "step of this size after each window it has scored, the split read as one "
                       "stream; tune it on dev")
          ->check(CLI::NonNegativeNumber);
  eval->add_option("--dynamic-decay", eval_args.dynamic_decay,
                   "dynamic evaluation: the pull back towards the trained weights after each "
                   "window, in [0, 1] (default 0)")
      ->check(CLI::Range(0.0, 1.0))
      ->needs(dynamic_lr);
  eval->add_option("--set", eval_args.sets,
                   "override a recipe key for this evaluation: path.to.key=value (repeatable; "
                   "e.g. data.bptt, train.eval_batch_size)");

  InspectArgs inspect_args;
  CLI::App* insp = app.add_subcommand(
      "inspect",
      "write the attention weights (and logits) a run's model computes for some examples");
  insp->add_option("run_dir", inspect_args.run.run_dir, "run directory")->required();
  insp->add_option("--checkpoint", inspect_args.run.checkpoint,
                   "checkpoint file (default: RUN_DIR/checkpoints/last.h5)");
  insp->add_option("--split", inspect_args.run.split, "split to take the examples from")
      ->check(CLI::IsMember({"test", "dev", "train"}));
  auto* samples_opt =
      insp->add_option("--samples", inspect_args.samples, "the split's first N examples (8)")
          ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  insp->add_option("--index", inspect_args.indices, "these examples (repeatable, 0-based)")
      ->excludes(samples_opt);
  insp->add_option("--out", inspect_args.out,
                   "HDF5 file to write (default: RUN_DIR/inspect_<split>.h5)");

  GenerateArgs gen_args;
  CLI::App* gen = app.add_subcommand(
      "generate", "continue a text with a language model run's samples (temperature, top-k)");
  gen->add_option("run_dir", gen_args.run.run_dir, "run directory")->required();
  gen->add_option("--checkpoint", gen_args.run.checkpoint,
                  "checkpoint file (default: RUN_DIR/checkpoints/last.h5)");
  gen->add_option("--prompt", gen_args.prompt, "the text to continue (at least one character)")
      ->required();
  gen->add_option("--length", gen_args.length, "characters to generate (200)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  gen->add_option("--temperature", gen_args.sampling.temperature,
                  "softmax temperature; 0: always the most likely character (1)")
      ->check(CLI::Range(0.f, 100.f));
  gen->add_option("--top-k", gen_args.sampling.top_k,
                  "draw among the K most likely characters only; 0: all (0)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  gen->add_option("--seed", gen_args.seed, "seed of the sampling (0)");

  heed::cli::PredictCommand predict(app);
  heed::cli::ShowCommand show(app);
  heed::cli::CompareCommand compare(app);
  app.add_subcommand(
      "list", "list the registered datasets, models, optimizers and schedules with their options");

  if (const int status = parse_arguments(app, argc, argv); status >= 0) return status;
  if (train->parsed() && train_args.recipe.empty() && train_args.resume.empty())
    return usage_error("train: give a recipe file or --resume RUN_DIR", "train");
  if (train->parsed()) {
    return train_args.resume.empty() ? train_new(train_args) : train_resume(train_args);
  }
  if (compare.parsed()) return compare.run();
  if (const int ranks = heed::Communicator::world().size(); ranks > 1)
    throw Error("heed " + app.get_subcommands().front()->get_name() + " runs on one process, and " +
                std::to_string(ranks) + " were started: under mpirun, heed runs `train` and " +
                "`compare` only");
  if (eval->parsed()) return evaluate(eval_args);
  if (insp->parsed()) return inspect(inspect_args);
  if (gen->parsed()) return generate(gen_args);
  if (predict.parsed()) {
    EvalArgs run;
    run.run_dir = predict.run_dir(), run.checkpoint = predict.checkpoint();
    std::string ckpt;
    return predict.run(*restored_run(run, ckpt));
  }
  if (show.parsed()) return show.run();
  return list_registered();
}

}  // namespace
