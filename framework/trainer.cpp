#include "framework/trainer.h"

#include <omp.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "framework/autograd.h"
#include "framework/inspect.h"
#include "framework/progress.h"
#include "framework/warm_start.h"
#include "optim/clip.h"
#include "optim/early_stopping.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"

namespace heed {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_stop_requested{false};

extern "C" void request_stop(int) {
  g_stop_requested = true;
}

// Installs the stop handlers for the trainer's lifetime and restores the previous ones after.
class StopSignals {
 public:
  StopSignals() {
    g_stop_requested = false;
    previous_int_ = std::signal(SIGINT, request_stop);
    previous_term_ = std::signal(SIGTERM, request_stop);
  }
  ~StopSignals() {
    std::signal(SIGINT, previous_int_);
    std::signal(SIGTERM, previous_term_);
  }

 private:
  void (*previous_int_)(int);
  void (*previous_term_)(int);
};

int64_t positive(const Config& c, const std::string& key, int64_t fallback, int64_t minimum) {
  const int64_t v = c.get<int64_t>(key, fallback);
  HEED_CHECK(v >= minimum, "recipe: \"", c.path_of(key), "\" must be at least ", minimum, ", got ",
             v);
  return v;
}

}  // namespace

TrainOptions TrainOptions::from_config(const Config& c) {
  TrainOptions o;
  o.epochs = positive(c, "epochs", o.epochs, 1);
  o.max_steps = positive(c, "max_steps", o.max_steps, 0);
  o.batch_size = positive(c, "batch_size", o.batch_size, 1);
  o.eval_batch_size = positive(c, "eval_batch_size", o.eval_batch_size, 1);
  o.seed = static_cast<uint64_t>(positive(c, "seed", 0, 0));
  o.threads = positive(c, "threads", o.threads, 0);
  o.log_interval = positive(c, "log_interval", o.log_interval, 1);
  o.eval_interval = positive(c, "eval_interval", o.eval_interval, 0);
  o.checkpoint_interval = positive(c, "checkpoint_interval", o.checkpoint_interval, 0);
  o.clip_grad_norm = c.get<double>("clip_grad_norm", o.clip_grad_norm);
  HEED_CHECK(o.clip_grad_norm >= 0, "recipe: \"", c.path_of("clip_grad_norm"),
             "\" must be >= 0 (0: off), got ", o.clip_grad_norm);
  if (c.has("clip_grad_norm_type")) {
    const nlohmann::json& v = c.json().at("clip_grad_norm_type");
    HEED_CHECK((v.is_number() && v.get<double>() >= 1) || v == "inf", "recipe: \"",
               c.path_of("clip_grad_norm_type"), "\" must be a number >= 1 or \"inf\", got ",
               v.dump());
    o.clip_grad_norm_type = v.is_number() ? v.get<double>() : optim::kInfNorm;
  }
  o.clip_grad_value = c.get<double>("clip_grad_value", o.clip_grad_value);
  HEED_CHECK(o.clip_grad_value >= 0, "recipe: \"", c.path_of("clip_grad_value"),
             "\" must be >= 0 (0: off), got ", o.clip_grad_value);
  c.has("early_stopping");  // read by the trainer
  c.finish();
  return o;
}

Trainer::Trainer(const nlohmann::json& recipe, const std::string& run_dir)
    : recipe_(recipe), run_dir_(run_dir), started_(std::chrono::steady_clock::now()) {
  const Config root(recipe_, "");
  root.get<std::string>("description", "");
  options_ = TrainOptions::from_config(root.child("train"));
  if (options_.threads > 0) omp_set_num_threads(static_cast<int>(options_.threads));
  gen_.manual_seed(options_.seed);
  data_ = build_dataset(root.child("data"));
  model_ = build_model(root.child("model"), data_.info, gen_);
  init_from_ = apply_init_from(root, *model_, run_dir_);  // framework/warm_start.h
  optimizer_ = build_optimizer(root.child("optimizer"), model_->named_parameters());
  loader_ = std::make_unique<Loader>(data_.train, options_.batch_size, /*shuffle=*/true);
  const int64_t all_steps = options_.epochs * loader_->batches_per_epoch();
  scheduler_ =
      build_scheduler(root, *optimizer_,
                      options_.max_steps > 0 ? std::min(options_.max_steps, all_steps) : all_steps,
                      options_.epochs);
  last_lr_ = optimizer_->lr();
  if (const Config train = root.child("train"); train.has("early_stopping")) {
    const Config c = train.child("early_stopping");
    optim::EarlyStoppingOptions o;
    o.metric = c.get<std::string>("metric", o.metric);
    o.mode = c.choice("mode", o.mode, {"min", "max"});
    o.patience = c.get<int64_t>("patience", o.patience);
    o.min_delta = c.get<double>("min_delta", o.min_delta);
    c.finish();
    try {
      early_stopping_ = std::make_unique<optim::EarlyStopping>(o);
    } catch (const Error& e) {
      throw Error("recipe: \"" + c.path() + "\": " + e.what());
    }
  }
  {
    const Config output = root.child("output");
    output.get<std::string>("dir", "");
    output.finish();
  }
  root.finish();
}

Trainer::~Trainer() = default;

std::string Trainer::describe() const {
  std::ostringstream out;
  out << model_->to_string() << "parameters: " << model_->num_parameters() << "\n"
      << "optimizer: " << optimizer_->repr() << "\n"
      << "schedule: " << scheduler_->repr() << "\n"
      << "data: " << data_.train->size() << " train / " << data_.test->size() << " test examples, "
      << loader_->batches_per_epoch() << " batches of " << options_.batch_size << " per epoch\n";
  return out.str();
}

void Trainer::restore(const std::string& path) {
  const Checkpoint c = load_checkpoint(path);
  try {
    model_->load_state_dict(c.model);
    optimizer_->load_state_dict(c.optimizer);
    // A version 1 checkpoint has no train state: it predates schedules and early stopping, so
    // it resumes with a constant lr only.
    const nlohmann::json state =
        c.train_state.empty() ? nlohmann::json{{"schedule", {{"name", "constant"}, {"t", 0}}}}
                              : nlohmann::json::parse(c.train_state);
    scheduler_->load_state_dict(state.at("schedule"));
    if (early_stopping_ && state.contains("early_stopping"))
      early_stopping_->load_state_dict(state.at("early_stopping"));
    early_stopped_ = state.value("early_stopped", false);
    best_eval_ = state.value("best_eval", nlohmann::json());
    last_lr_ = optimizer_->lr();
  } catch (const Error& e) {
    throw Error("checkpoint " + path + ": " + e.what());
  }
  gen_.set_state(c.rng);
  progress_ = c.progress;
  loader_->restore({c.progress.epoch_key, c.progress.position});
  epoch_started_ = c.progress.position > 0;
}

int64_t Trainer::elapsed_ms() const {
  return progress_.elapsed_ms + std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - started_)
                                    .count();
}

void Trainer::append_metrics(const nlohmann::json& line) {
  std::ofstream out(fs::path(run_dir_) / "metrics.jsonl", std::ios::app);
  out << line.dump() << "\n";
  HEED_CHECK(out.good(), "run ", run_dir_, ": cannot append to metrics.jsonl");
}

void Trainer::save(const std::string& file) {
  Checkpoint c;
  c.model = model_->state_dict();
  c.optimizer = optimizer_->state_dict();
  c.rng = gen_.state();
  c.progress = progress_;
  c.progress.elapsed_ms = elapsed_ms();
  c.progress.epoch_key = loader_->state().epoch_key;
  c.progress.position = loader_->state().position;
  c.recipe = recipe_.dump(2);
  c.train_state = train_state().dump();
  fs::create_directories(fs::path(run_dir_) / "checkpoints");
  save_checkpoint((fs::path(run_dir_) / "checkpoints" / file).string(), c);
}

nlohmann::json Trainer::train_state() const {
  nlohmann::json s = {{"schedule", scheduler_->state_dict()}, {"early_stopped", early_stopped_}};
  if (early_stopping_) s["early_stopping"] = early_stopping_->state_dict();
  if (!best_eval_.is_null()) s["best_eval"] = best_eval_;
  return s;
}

bool Trainer::after_evaluation(const nlohmann::json& eval) {
  scheduler_->on_eval(eval);
  if (!early_stopping_) return false;
  const bool stop = early_stopping_->step(eval);
  if (early_stopping_->improved()) {
    best_eval_ = eval;
    save("best.h5");
  }
  return stop;
}

const std::shared_ptr<Dataset>& Trainer::split_data(const std::string& split) const {
  HEED_CHECK(split == "train" || split == "test", "unknown split \"", split,
             "\" (valid: train, test)");
  return split == "train" ? data_.train : data_.test;
}

nlohmann::json Trainer::evaluate(const std::string& split) {
  Loader loader(split_data(split), options_.eval_batch_size, /*shuffle=*/false);
  NoGradGuard no_grad;
  model_->eval();
  double loss = 0;
  std::map<std::string, double> metrics;
  int64_t seen = 0;
  while (!loader.epoch_done()) {
    const Batch batch = loader.next();
    const ModelOutput out = model_->forward(batch);
    loss += out.loss.item() * batch.size();
    for (const auto& [name, value] : out.metrics) metrics[name] += value * batch.size();
    seen += batch.size();
  }
  model_->train();
  nlohmann::json result = {{"split", split}, {"loss", loss / seen}, {"samples", seen}};
  for (const auto& [name, value] : metrics) result[name] = value / seen;
  return result;
}

nlohmann::json Trainer::inspect(const std::string& split, const std::vector<int64_t>& indices,
                                const std::string& path, const std::string& checkpoint) {
  nlohmann::json result =
      write_inspection(path, *model_, *split_data(split), indices, recipe_.dump(), checkpoint);
  result["split"] = split;
  return result;
}

nlohmann::json Trainer::run_evaluation() {
  nlohmann::json line = evaluate("test");
  line["kind"] = "eval";
  line["epoch"] = progress_.epoch;
  line["step"] = progress_.step;
  line["elapsed_s"] = elapsed_ms() / 1000.0;
  append_metrics(line);
  last_eval_ = line;
  return line;
}

void Trainer::train_step(const Batch& batch, double& loss_sum,
                         std::map<std::string, double>& metric_sums) {
  ModelOutput out = model_->forward(batch);
  out.loss.backward();
  const StateDict& params = optimizer_->params();
  if (options_.clip_grad_value > 0) optim::clip_grad_value_(params, options_.clip_grad_value);
  // With no norm clipping, an infinite max_norm only measures the norm.
  grad_norm_sum_ += optim::clip_grad_norm_(
      params, options_.clip_grad_norm > 0 ? options_.clip_grad_norm : optim::kInfNorm,
      options_.clip_grad_norm_type);
  last_lr_ = optimizer_->lr();
  if (scheduler_->cycles_momentum()) last_momentum_ = optimizer_->momentum(0);
  optimizer_->step();
  optimizer_->zero_grad();
  scheduler_->on_step();
  ++progress_.step;
  loss_sum += out.loss.item();
  for (const auto& [name, value] : out.metrics) metric_sums[name] += value;
}

void Trainer::log_train(int64_t window, double loss_sum, std::map<std::string, double>& metric_sums,
                        double seconds) {
  nlohmann::json line = {{"kind", "train"},
                         {"epoch", progress_.epoch},
                         {"step", progress_.step},
                         {"loss", loss_sum / window},
                         {"lr", last_lr_},
                         {"grad_norm", grad_norm_sum_ / window},
                         {"samples_per_s", window * options_.batch_size / std::max(seconds, 1e-9)},
                         {"elapsed_s", elapsed_ms() / 1000.0}};
  if (scheduler_->cycles_momentum()) line["momentum"] = last_momentum_;
  for (auto& [name, value] : metric_sums) line[name] = value / window;
  append_metrics(line);
  grad_norm_sum_ = 0;
}

bool Trainer::finished() const {
  return early_stopped_ || progress_.epoch >= options_.epochs ||
         (options_.max_steps > 0 && progress_.step >= options_.max_steps);
}

nlohmann::json Trainer::train() {
  StopSignals signals;
  fs::create_directories(run_dir_);
  if (!init_from_.is_null()) append_metrics(std::exchange(init_from_, nullptr));
  const int64_t per_epoch = loader_->batches_per_epoch();
  const int64_t total_steps = options_.max_steps > 0
                                  ? std::min(options_.max_steps, options_.epochs * per_epoch)
                                  : options_.epochs * per_epoch;
  ProgressLine bar(total_steps, progress_.step, isatty(STDERR_FILENO) != 0);
  std::string status = "finished";
  double loss_sum = 0, window_seconds = 0;
  std::map<std::string, double> metric_sums;
  int64_t window = 0;
  while (!finished()) {
    if (!epoch_started_) loader_->start_epoch(gen_);
    epoch_started_ = true;
    while (!loader_->epoch_done() && !finished() && !g_stop_requested) {
      const auto t0 = std::chrono::steady_clock::now();
      train_step(loader_->next(), loss_sum, metric_sums);
      window_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++window;
      bar.update(progress_.step, progress_.epoch, loss_sum / window,
                 options_.batch_size * window / window_seconds);
      if (progress_.step % options_.log_interval == 0) {
        log_train(window, loss_sum, metric_sums, window_seconds);
        bar.log(progress_.step, progress_.epoch, loss_sum / window,
                options_.batch_size * window / window_seconds);
        loss_sum = 0, window_seconds = 0, window = 0;
        metric_sums.clear();
      }
      if (options_.eval_interval > 0 && progress_.step % options_.eval_interval == 0) {
        const nlohmann::json eval = run_evaluation();
        bar.eval(eval);
        early_stopped_ = after_evaluation(eval);
      }
      if (options_.checkpoint_interval > 0 && progress_.step % options_.checkpoint_interval == 0)
        save();
    }
    if (g_stop_requested) {
      status = "interrupted";
      break;
    }
    if (loader_->epoch_done()) {
      ++progress_.epoch;
      epoch_started_ = false;
      loader_->restore({0, 0});
      scheduler_->on_epoch();
      if (options_.eval_interval == 0) {
        const nlohmann::json eval = run_evaluation();
        bar.eval(eval);
        early_stopped_ = after_evaluation(eval);
      }
      save();
    }
  }
  bar.finish();
  // An interrupted run saves and leaves at once: whoever pressed Ctrl-C is waiting.
  const bool evaluated =
      !last_eval_.is_null() && last_eval_.value("step", int64_t{-1}) == progress_.step;
  if (early_stopped_) status = "early_stopped";
  // The closing evaluation is a report: feeding it to the plateau or early stopping would make
  // a run extended later (a larger max_steps) differ from one that ran straight through.
  if (status == "finished" && !evaluated) run_evaluation();
  save();
  nlohmann::json summary = {
      {"status", status},
      {"epochs_completed", progress_.epoch},
      {"steps", progress_.step},
      {"elapsed_s", elapsed_ms() / 1000.0},
      {"parameters", model_->num_parameters()},
      {"final_eval", last_eval_},
      {"checkpoint", (fs::path(run_dir_) / "checkpoints" / "last.h5").string()}};
  if (early_stopping_) summary["best_eval"] = best_eval_;
  std::ofstream(fs::path(run_dir_) / "summary.json") << summary.dump(2) << "\n";
  return summary;
}

}  // namespace heed
