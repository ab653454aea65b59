#include "framework/trainer.h"

#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <utility>

#include "framework/attention_statistics.h"
#include "framework/autograd.h"
#include "framework/clip.h"
#include "framework/error_rates.h"
#include "framework/inspect.h"
#include "framework/ops.h"
#include "framework/precision.h"
#include "framework/progress.h"
#include "framework/score_function.h"
#include "framework/signals.h"
#include "framework/warm_start.h"

namespace heed {

namespace fs = std::filesystem;

namespace {

// The largest resident set this process has had, in MiB (this session's, for a resumed run).
double peak_rss_mib() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// Batches of up to 16M examples: larger ones only overflow memory.
constexpr Range kBatchSizes{1, 1 << 24};

// A non-finite loss, gradient or parameter: the run has diverged.
class NonFinite : public Error {
 public:
  using Error::Error;
};

// The name of the first tensor of `tensors` (or of their gradients) holding a NaN or an
// infinity, "" when all are finite.
std::string first_nonfinite(const StateDict& tensors, bool gradients) {
  for (const auto& [name, t] : tensors) {
    const Tensor x = gradients ? t.grad() : t;
    if (!x.defined() || x.dtype() != Dtype::Float32) continue;
    const Tensor c = x.contiguous();
    const float* p = c.data();
    const int64_t n = c.numel();
    bool finite = true;
    for (int64_t i = 0; i < n; ++i) finite &= std::isfinite(p[i]);
    if (!finite) return name;
  }
  return "";
}

// Adds what `inspector` recorded of `model`'s attention on `batch`. A seq2seq decoder's layers
// attend from the target's steps, any other from the input's; their lengths leave out the padded
// queries when the layer has one query per step (an attention pooling's single learned query
// has none to leave out).
void add_attention_statistics(AttentionStatistics& stats, const Inspector& inspector,
                              const Model& model, const Batch& batch) {
  for (const auto& [name, weights] : inspector.attention(model)) {
    const bool decoder = attends_from_target(name);
    const Tensor& sequence = decoder ? batch.target : batch.input;
    const Tensor& lengths = decoder ? batch.target_lengths : batch.input_lengths;
    const bool per_step =
        lengths.defined() && sequence.dim() >= 2 && weights.size(-2) == sequence.size(1);
    stats.add(name, weights, per_step ? lengths : Tensor());
  }
}

}  // namespace

TrainOptions TrainOptions::from_config(const Config& c) {
  TrainOptions o;
  o.epochs = c.get<int64_t>("epochs", o.epochs, range::count);
  o.max_steps = c.get<int64_t>("max_steps", o.max_steps, range::count_or_zero);
  o.max_seconds = c.get<double>("max_seconds", o.max_seconds, range::non_negative);
  o.batch_size = c.get<int64_t>("batch_size", o.batch_size, kBatchSizes);
  o.eval_batch_size = c.get<int64_t>("eval_batch_size", o.eval_batch_size, kBatchSizes);
  o.seed = static_cast<uint64_t>(c.get<int64_t>("seed", 0, Range::at_least(0)));
  if (c.has("seeds")) {
    const Config s = c.child("seeds");
    const auto seed_of = [&](const char* source) {
      return static_cast<uint64_t>(
          s.get<int64_t>(source, static_cast<int64_t>(o.seed), Range::at_least(0)));
    };
    o.seeds = TrainOptions::Seeds{seed_of("init"), seed_of("data"), seed_of("dropout")};
    s.finish();
  }
  o.threads = c.get<int64_t>("threads", o.threads, Range{0, 1024});
  o.float32_matmul_precision =
      c.choice("float32_matmul_precision", o.float32_matmul_precision, {"highest", "medium"});
  o.log_interval = c.get<int64_t>("log_interval", o.log_interval, range::count);
  o.eval_interval = c.get<int64_t>("eval_interval", o.eval_interval, range::count_or_zero);
  o.checkpoint_every_steps =
      c.get<int64_t>("checkpoint_every_steps", o.checkpoint_every_steps, range::count_or_zero);
  o.checkpoint_every_seconds =
      c.get<double>("checkpoint_every_seconds", o.checkpoint_every_seconds, range::non_negative);
  o.keep_checkpoints = c.get<int64_t>("keep_checkpoints", o.keep_checkpoints, Range{1, 1000000});
  o.on_nonfinite = c.choice("on_nonfinite", o.on_nonfinite, {"stop", "skip"});
  // The best checkpoint is what early stopping selected, so test reads it by default.
  o.test_checkpoint =
      c.choice("test_checkpoint", c.has("early_stopping") ? "best" : "last", {"last", "best"});
  HEED_RECIPE_CHECK(
      o.test_checkpoint == "last" || c.has("early_stopping"), c.path_of("test_checkpoint"),
      " is \"best\", which needs train.early_stopping (it keeps checkpoints/best.h5)");
  o.clip_grad_norm = c.get<double>("clip_grad_norm", o.clip_grad_norm, range::non_negative);
  o.attention_statistics = c.get<bool>("attention_statistics", o.attention_statistics);
  o.decode.beam_size = c.get<int64_t>("beam_size", 1, Range{1, 1000});
  o.decode.length_penalty = c.get<float>("length_penalty", 1.f, Range{0, 100});
  if (c.has("clip_grad_norm_type")) {
    const nlohmann::json& v = c.json().at("clip_grad_norm_type");
    HEED_RECIPE_CHECK(v.is_number() || v == "inf", c.path_of("clip_grad_norm_type"),
                      " must be a number >= 1 or \"inf\", got ", v.dump());
    o.clip_grad_norm_type =
        v == "inf" ? kInfNorm : c.get<double>("clip_grad_norm_type", 2, Range::at_least(1));
  }
  o.clip_grad_value = c.get<double>("clip_grad_value", o.clip_grad_value, range::non_negative);
  o.micro_batches = c.get<int64_t>("micro_batches", o.micro_batches, range::size_or_zero);
  o.deterministic_reduction = c.get<bool>("deterministic_reduction", o.deterministic_reduction);
  o.sync_batch_norm = c.get<bool>("sync_batch_norm", o.sync_batch_norm);
  if (c.has("weight_average"))
    o.weight_average = WeightAverageOptions::from_config(c.child("weight_average"));
  c.has("early_stopping");  // read by the trainer
  c.finish();
  return o;
}

Trainer::Trainer(const nlohmann::json& recipe, const std::string& run_dir)
    : recipe_(recipe),
      run_dir_(run_dir),
      comm_(Communicator::world()),
      writer_(comm_.root()),
      started_(std::chrono::steady_clock::now()) {
  const Config root(recipe_, "");
  root.get<std::string>("description", "");
  options_ = TrainOptions::from_config(root.child("train"));
  if (options_.threads > 0) {
    omp_set_num_threads(static_cast<int>(options_.threads));
  } else if (comm_.local_size() > 1 && std::getenv("OMP_NUM_THREADS") == nullptr) {
    // Ranks sharing a machine share its cores: OpenMP's threads spin, and 2 ranks of 2 threads
    // on 2 cores run ten times slower than 2 of 1.
    omp_set_num_threads(std::max(1, omp_get_num_procs() / comm_.local_size()));
  }
  set_float32_matmul_precision(matmul_precision_from_name(options_.float32_matmul_precision));
  gen_.manual_seed(options_.seeds ? options_.seeds->init : options_.seed);
  data_ = build_dataset(root.child("data"), {options_.batch_size, options_.eval_batch_size});
  model_ = build_model(root.child("model"), data_.info, gen_);
  if (data_.info.carry_state) {
    carrier_ = dynamic_cast<StateCarryingModel*>(model_.get());
    if (!carrier_)
      throw recipe_error("data.carry_state", " is true, but model \"",
                         root.child("model").get<std::string>("type", ""),
                         "\" carries no state across batches (a language_model with an rnn, "
                         "lstm or gru encoder does): set data.carry_state to false");
  }
  init_from_ = apply_init_from(root, *model_, run_dir_);  // framework/warm_start.h
  optimizer_ = build_optimizer(root.child("optimizer"), model_->named_parameters());
  if (options_.weight_average)
    average_ = std::make_unique<WeightAverage>(*options_.weight_average, optimizer_->params());
  // Streams are served in order: batch k + 1 continues batch k row by row.
  loader_ = std::make_unique<Loader>(data_.train, options_.batch_size,
                                     /*shuffle=*/!data_.info.carry_state,
                                     /*drop_last=*/false, Bucketing{data_.bucket_by_length});
  build_data_parallel(root.child("train"));
  // What an evaluation line holds: the plateau and early stopping may watch only these.
  std::vector<std::string> metrics = model_metric_names(*model_, data_.info, gen_);
  metrics.insert(metrics.end(), {"epoch", "step", "samples", "elapsed_s"});
  if (options_.seeds) {
    // The layers keep gen_ for their dropout masks: from here on it is the dropout's stream.
    gen_.manual_seed(options_.seeds->dropout);
    data_gen_.manual_seed(options_.seeds->data);
    order_gen_ = &data_gen_;
  }
  scheduler_ = build_scheduler(root, *optimizer_, total_steps(), options_.epochs, metrics);
  last_lr_ = optimizer_->lr();
  if (const Config train = root.child("train"); train.has("early_stopping"))
    early_stopping_ = build_early_stopping(train.child("early_stopping"), metrics);
  // Selection reads dev, never test: without a dev split nothing may select.
  if (!data_.dev && (early_stopping_ || scheduler_->has_plateau()))
    throw RecipeError("data.dev_samples",
                      "recipe: train.early_stopping and reduce_on_plateau select on the dev split, "
                      "and data.dev_samples is 0 (no dev split)");
  {
    const Config output = root.child("output");
    output.get<std::string>("dir", "");
    output.finish();
  }
  root.finish();
}

Trainer::~Trainer() = default;

// Micro-batches: one per rank unless the recipe says; one on one process is the plain step.
void Trainer::build_data_parallel(const Config& train) {
  const int64_t parts = options_.micro_batches > 0 ? options_.micro_batches : comm_.size();
  if (parts == 1) return;
  HEED_RECIPE_CHECK(parts % comm_.size() == 0, train.path_of("micro_batches"), " is ", parts,
                    ", which ", comm_.size(), " ranks cannot share equally: give a multiple of ",
                    comm_.size());
  HEED_RECIPE_CHECK(parts <= options_.batch_size, train.path_of("micro_batches"), " is ", parts,
                    ", more than train.batch_size (", options_.batch_size, ")");
  HEED_RECIPE_CHECK(!options_.sync_batch_norm || parts == comm_.size(),
                    train.path_of("sync_batch_norm"), " is true with ", parts, " micro-batches on ",
                    comm_.size(),
                    " rank(s): synchronized batch norm needs "
                    "one micro-batch per rank (parts computed one after the other cannot share "
                    "their statistics); leave train.micro_batches at 0");
  parallel_ =
      std::make_unique<DataParallel>(comm_, parts, options_.deterministic_reduction,
                                     options_.sync_batch_norm, *model_, gen_, optimizer_->params());
  if (carrier_) parallel_->carry_state(*carrier_);  // each part carries its streams' rows
}

std::string Trainer::describe() const {
  std::ostringstream out;
  out << model_->to_string() << "parameters: " << model_->num_parameters() << "\n"
      << "optimizer: " << optimizer_->repr() << "\n"
      << "schedule: " << scheduler_->repr() << "\n"
      << (average_ ? "weight average: " + average_->repr() + "\n" : "")
      << "data: " << data_.train->size() << " train / " << (data_.dev ? data_.dev->size() : 0)
      << " dev / " << data_.test->size() << " test examples, " << loader_->batches_per_epoch()
      << " batches of " << options_.batch_size << " per epoch\n";
  return out.str();
}

int64_t Trainer::total_steps() const {
  const int64_t all = options_.epochs * loader_->batches_per_epoch();
  return options_.max_steps > 0 ? std::min(options_.max_steps, all) : all;
}

double Trainer::budget_done() const {
  double done = static_cast<double>(progress_.step) /
                static_cast<double>(std::max<int64_t>(1, total_steps()));
  if (options_.max_seconds > 0)
    done = std::max(done, static_cast<double>(elapsed_ms()) / 1000.0 / options_.max_seconds);
  return std::min(1.0, done);
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
    last_eval_ = state.value("last_eval", nlohmann::json());
    skipped_steps_ = state.value("skipped_steps", int64_t{0});
    if (state.contains("log_window")) log_.restore_window(state.at("log_window"));
    last_lr_ = optimizer_->lr();
    loader_->restore({c.progress.epoch_key, c.progress.position});
    restore_carried_state(c.carried_state);
    restore_average(state, c.averaged_model);
  } catch (const Error& e) {
    throw Error("checkpoint " + path + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw Error("checkpoint " + path + ": train_state: " + e.what());
  }
  gen_.set_state(c.rng);
  HEED_CHECK(c.data_rng.has_value() == options_.seeds.has_value(), "checkpoint ", path, ": ",
             c.data_rng ? "holds a data-order generator (rng/data_state), but the recipe has no "
                          "train.seeds"
                        : "has no data-order generator (rng/data_state), but the recipe has "
                          "train.seeds");
  if (c.data_rng) data_gen_.set_state(*c.data_rng);
  progress_ = c.progress;
  agreed_elapsed_ms_ = progress_.elapsed_ms;  // the ranks' budget until their first step agrees
  restored_ = true;
  last_saved_step_ = progress_.step;
}

void Trainer::restore_carried_state(const std::optional<StateDict>& state) {
  if (!carrier_) {
    HEED_CHECK(!state,
               "group carried_state is present, but this run carries no state across "
               "batches (data.carry_state is false)");
    return;
  }
  HEED_CHECK(state,
             "group carried_state is missing: a run with data.carry_state saves the state "
             "its next batch starts from");
  try {
    carrier_->set_carried_state(*state, options_.batch_size);
  } catch (const Error& e) {
    throw Error(std::string("group carried_state: ") + e.what());
  }
}

void Trainer::restore_average(const nlohmann::json& train_state,
                              const std::optional<StateDict>& averaged) {
  if (!average_) {
    HEED_CHECK(!averaged,
               "group averaged_model is present, but the recipe has no "
               "train.weight_average");
    return;
  }
  const nlohmann::json none = {{"method", options_.weight_average->method}, {"n_averaged", 0}};
  average_->load_state_dict(train_state.value("weight_average", none),
                            averaged.value_or(StateDict()));
}

void Trainer::reset_carried_state() {
  if (carrier_) carrier_->set_carried_state({}, options_.batch_size);
}

void Trainer::load_weights(const std::string& path) {
  const Checkpoint c = load_checkpoint(path, CheckpointPart::weights);
  try {
    model_->load_state_dict(c.model);
    // The run evaluated, selected and tested the average: it is the run's model.
    if (c.averaged_model) {
      const StateDict params = model_->named_parameters();
      const StateDict averaged = in_parameter_order(params, *c.averaged_model);
      for (size_t k = 0; k < params.size(); ++k) params[k].second.copy_(averaged[k].second);
    }
  } catch (const Error& e) {
    throw Error("checkpoint " + path + ": " + e.what());
  }
}

int64_t Trainer::elapsed_ms() const {
  return progress_.elapsed_ms + std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - started_)
                                    .count();
}

// Refuses to save a state that is not finite: the last checkpoint must be one to go back to.
void Trainer::save(const std::string& file) {
  if (!writer_) return;  // rank 0's checkpoint is every rank's: they hold the same state
  Checkpoint c;
  c.model = model_->state_dict();
  c.optimizer = optimizer_->state_dict();
  if (carrier_) c.carried_state = carrier_->carried_state();
  if (average_ && average_->count() > 0) c.averaged_model = average_->averaged();
  StateDict none;
  for (const auto& [group, tensors] :
       {std::pair{"model", &c.model},
        {"optimizer", &c.optimizer},
        {"carried_state", c.carried_state ? &*c.carried_state : &none},
        {"averaged_model", c.averaged_model ? &*c.averaged_model : &none}})
    if (const std::string bad = first_nonfinite(*tensors, false); !bad.empty())
      throw NonFinite("step " + std::to_string(progress_.step) + ": " + group + " tensor " + bad +
                      " is not finite");
  c.rng = gen_.state();
  if (options_.seeds) c.data_rng = data_gen_.state();
  c.progress = progress_;
  c.progress.elapsed_ms = elapsed_ms();
  c.progress.epoch_key = loader_->state().epoch_key;
  c.progress.position = loader_->state().position;
  c.progress.metrics_bytes = log_.sync();
  c.recipe = recipe_.dump(2);
  c.train_state = train_state().dump();
  fs::create_directories(fs::path(run_dir_) / "checkpoints");
  save_checkpoint((fs::path(run_dir_) / "checkpoints" / file).string(), c);
}

// step_<N>.h5 is a hard link to the last.h5 of step N, so keeping K checkpoints costs no copy.
void Trainer::save_last() {
  save();
  last_save_ = std::chrono::steady_clock::now();
  last_saved_step_ = progress_.step;
  if (options_.keep_checkpoints <= 1 || !writer_) return;
  const fs::path dir = fs::path(run_dir_) / "checkpoints";
  const fs::path step_file = dir / ("step_" + std::to_string(progress_.step) + ".h5");
  fs::remove(step_file);
  std::error_code linked;
  fs::create_hard_link(dir / "last.h5", step_file, linked);
  if (linked) fs::copy_file(dir / "last.h5", step_file);
  std::vector<std::pair<int64_t, fs::path>> kept;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("step_", 0) == 0 && entry.path().extension() == ".h5")
      kept.emplace_back(std::stoll(name.substr(5)), entry.path());
  }
  std::sort(kept.rbegin(), kept.rend());
  for (size_t i = static_cast<size_t>(options_.keep_checkpoints); i < kept.size(); ++i)
    fs::remove(kept[i].second);
}

bool Trainer::checkpoint_due() const {
  if (options_.checkpoint_every_steps > 0 && progress_.step % options_.checkpoint_every_steps == 0)
    return true;
  return options_.checkpoint_every_seconds > 0 &&
         std::chrono::duration<double>(std::chrono::steady_clock::now() - last_save_).count() >=
             options_.checkpoint_every_seconds;
}

nlohmann::json Trainer::train_state() const {
  nlohmann::json s = {{"schedule", scheduler_->state_dict()},
                      {"early_stopped", early_stopped_},
                      {"log_window", log_.window_state()},
                      {"skipped_steps", skipped_steps_}};
  if (early_stopping_) s["early_stopping"] = early_stopping_->state_dict();
  if (average_) s["weight_average"] = average_->state_dict();
  if (!best_eval_.is_null()) s["best_eval"] = best_eval_;
  if (!last_eval_.is_null()) s["last_eval"] = last_eval_;
  return s;
}

bool Trainer::after_evaluation(const nlohmann::json& eval) {
  if (eval.is_null()) return false;  // no dev split, no evaluation
  scheduler_->on_eval(eval);
  if (!early_stopping_) return false;
  const bool stop = early_stopping_->step(eval);
  if (early_stopping_->improved()) {
    best_eval_ = eval;
    save("best.h5");
  }
  return stop;
}

// A budget (max_seconds, max_steps) rarely ends on an evaluation, and the weights it ends with may
// be the best on dev: the test must be able to read them. Early stopping judges the evaluation
// and is then put back as it was, so that a run extended later (a larger budget) keeps counting
// as one that ran straight through.
void Trainer::after_closing_evaluation(const nlohmann::json& eval) {
  if (eval.is_null() || !early_stopping_) return;
  const nlohmann::json state = early_stopping_->state_dict();
  early_stopping_->step(eval);
  const bool best = early_stopping_->improved();
  early_stopping_->load_state_dict(state);
  if (best) {
    best_eval_ = eval;
    save("best.h5");
  }
}

const std::shared_ptr<Dataset>& Trainer::split_data(const std::string& split) const {
  HEED_CHECK(split == "train" || split == "dev" || split == "test", "unknown split \"", split,
             "\" (valid: train, dev, test)");
  HEED_CHECK(split != "dev" || data_.dev, "this run has no dev split (data.dev_samples is 0)");
  return split == "train" ? data_.train : split == "dev" ? data_.dev : data_.test;
}

nlohmann::json Trainer::evaluate(const std::string& split) {
  return evaluate(split, options_.decode);
}

int64_t Trainer::eval_batch_size(const std::string& split) const {
  // Laid out as streams, train is cut for the training batches, dev and test for evaluation's.
  return data_.info.carry_state && split == "train" ? options_.batch_size
                                                    : options_.eval_batch_size;
}

// Under mpirun the ranks share an evaluation's batches: rank r evaluates every N-th from the
// r-th, and rank 0 adds every batch's totals in batch order, as one process adds them, so the
// result is one process's bit for bit (loss and metrics are sums over sums; PER and WER whole
// counts); but rank 0 evaluates alone a model that carries its state from batch to batch. The
// others return null: evaluate_on_root gives them rank 0's result.
nlohmann::json Trainer::evaluate(const std::string& split, const SearchOptions& decode) {
  // A model carrying its state reads the split as streams, batch after batch: rank 0 alone.
  if (carrier_ && !writer_) return nullptr;
  const int64_t shards = carrier_ ? 1 : comm_.size(), shard = carrier_ ? 0 : comm_.rank();
  const std::shared_ptr<Dataset> data = split_data(split);
  Loader loader(data, eval_batch_size(split), /*shuffle=*/false);
  // An evaluation carries its own state from zeros, and training continues from where it was.
  const StateDict training_state = carrier_ ? carrier_->carried_state() : StateDict();
  reset_carried_state();
  NoGradGuard no_grad;
  model_->eval();
  nlohmann::json mine = {{"batches", nlohmann::json::array()}};
  std::map<std::string, double (*)(double)> finishes;  // a metric's finish, which JSON cannot carry
  for (int64_t b = 0; !loader.epoch_done(); ++b) {
    const std::vector<int64_t> indices = loader.next_indices();
    if (b % shards != shard) continue;
    const Batch batch = data->get(indices);
    std::optional<Inspector> inspector;
    if (options_.attention_statistics) inspector.emplace();
    const ModelOutput out = model_->forward(batch);
    AttentionStatistics attention;
    if (inspector) add_attention_statistics(attention, *inspector, *model_, batch);
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [name, m] : out.metrics) metrics[name] = {m.sum, m.count};
    for (const auto& [name, m] : out.metrics) finishes[name] = m.finish;
    mine["batches"].push_back({{"loss", {out.loss.item() * out.loss_count, out.loss_count}},
                               {"metrics", metrics},
                               {"attention", attention.sums()},
                               {"samples", batch.size()}});
  }
  // A sequence model is also judged by what it outputs without teacher forcing.
  const auto* transducer = dynamic_cast<const SequenceTransducer*>(model_.get());
  if (transducer) {
    const ErrorRates r =
        decoded_error_rates(*transducer, *data, decode, eval_batch_size(split), shard, shards);
    mine["rates"] = {r.per.sum, r.per.count, r.wer.sum, r.wer.count};
  }
  model_->train();
  if (carrier_) carrier_->set_carried_state(training_state, options_.batch_size);
  std::vector<nlohmann::json> ranks;  // each rank's batches and rates
  if (shards == 1)
    ranks.push_back(std::move(mine));
  else
    for (const std::string& text : comm_.allgather(mine.dump()))
      ranks.push_back(nlohmann::json::parse(text));
  if (!writer_) return nullptr;
  // Sums and counts over the whole split (Metric), never means of batch means.
  Metric loss;
  std::map<std::string, Metric> metrics;
  AttentionStatistics attention;
  int64_t seen = 0;
  size_t batches = 0;
  for (const nlohmann::json& r : ranks) batches += r["batches"].size();
  for (size_t b = 0; b < batches; ++b) {  // batch b is rank b % N's (b / N)-th
    const nlohmann::json& batch = ranks[b % ranks.size()]["batches"][b / ranks.size()];
    loss.sum += batch["loss"][0].get<double>();
    loss.count += batch["loss"][1].get<double>();
    std::map<std::string, Metric> batch_metrics;
    for (const auto& [name, v] : batch["metrics"].items())
      batch_metrics[name] = {v[0].get<double>(), v[1].get<double>(), finishes[name]};
    add_metrics(metrics, batch_metrics);
    attention.add_sums(batch["attention"]);
    seen += batch["samples"].get<int64_t>();
  }
  if (transducer) {
    for (const nlohmann::json& r : ranks) {
      const std::vector<double> rates = r["rates"].get<std::vector<double>>();
      metrics["per"].sum += rates[0], metrics["per"].count += rates[1];
      metrics["wer"].sum += rates[2], metrics["wer"].count += rates[3];
    }
  }
  nlohmann::json result = {{"split", split}, {"loss", loss.value()}, {"samples", seen}};
  for (const auto& [name, m] : metrics) result[name] = m.value();
  if (nlohmann::json a = attention.result(); !a.empty()) result["attention"] = std::move(a);
  if (transducer) result["beam_size"] = decode.beam_size;
  return result;
}

nlohmann::json Trainer::evaluate_dynamic(const std::string& split,
                                         const DynamicEvaluationOptions& options) {
  HEED_CHECK(dynamic_cast<const NextTokenModel*>(model_.get()),
             "dynamic evaluation needs a language_model, and this run's model is ", model_->repr());
  HEED_CHECK(comm_.size() == 1, "dynamic evaluation runs on one process, not under mpirun (",
             comm_.size(), " ranks)");
  const StateDict training_state = carrier_ ? carrier_->carried_state() : StateDict();
  reset_carried_state();
  const DynamicEvaluationTotals totals =
      dynamic_evaluation(*model_, *split_data(split), eval_batch_size(split), options);
  model_->train();
  if (carrier_) carrier_->set_carried_state(training_state, options_.batch_size);
  nlohmann::json result = {{"split", split},
                           {"loss", totals.loss.value()},
                           {"samples", totals.samples},
                           {"dynamic", {{"lr", options.lr}, {"decay", options.decay}}}};
  for (const auto& [name, m] : totals.metrics) result[name] = m.value();
  return result;
}

nlohmann::json Trainer::inspect(const std::string& split, const std::vector<int64_t>& indices,
                                const std::string& path, const std::string& checkpoint) {
  reset_carried_state();  // the examples chosen are no batch of the stream order
  nlohmann::json result = write_inspection(path, *model_, *split_data(split), data_.info, indices,
                                           recipe_.dump(), checkpoint);
  result["split"] = split;
  return result;
}

nlohmann::json Trainer::erasure(const std::string& split, const ErasureOptions& options) {
  reset_carried_state();
  nlohmann::json result = erasure_test(*model_, *split_data(split), options);
  result["split"] = split;
  return result;
}

// Evaluates `split`, adds `fields` and the run's position, and logs it (metrics.jsonl, the
// progress line).
nlohmann::json Trainer::logged_evaluation(const std::string& split, const nlohmann::json& fields,
                                          ProgressLine& bar) {
  nlohmann::json line = evaluate_on_root(split);
  line.update(fields);
  line["epoch"] = progress_.epoch;
  line["step"] = progress_.step;
  line["elapsed_s"] = elapsed_ms() / 1000.0;
  if (writer_) log_.append(line);
  bar.eval(line);
  return line;
}

nlohmann::json Trainer::evaluate_on_root(const std::string& split) {
  if (comm_.size() == 1) return evaluate(split);
  const nlohmann::json mine = evaluate(split);  // every rank evaluates its share
  std::string result = writer_ ? mine.dump() : "";
  comm_.broadcast(result);
  return nlohmann::json::parse(result);
}

nlohmann::json Trainer::run_evaluation(ProgressLine& bar) {
  if (!data_.dev) return nullptr;
  const SwappedIn averaged(average_.get());  // selection judges the averaged weights
  last_eval_ = logged_evaluation("dev", {{"kind", "eval"}}, bar);
  return last_eval_;
}

// After the last checkpoint: loading best.h5's weights changes nothing a resume would read.
nlohmann::json Trainer::run_test(ProgressLine& bar) {
  const fs::path best = fs::path(run_dir_) / "checkpoints" / "best.h5";
  comm_.barrier();  // best.h5 as rank 0 wrote it last, for every rank
  const bool from_best = options_.test_checkpoint == "best" && fs::exists(best);
  if (from_best) load_weights(best.string());  // every rank evaluates its share
  // The run is over: the model keeps the weights tested (best.h5 holds the average, if any).
  if (!from_best && average_) average_->swap();
  // "step" and "epoch" are where the run ended; the weights tested are best.h5's, from the
  // evaluation it holds, which checkpoint_step and checkpoint_epoch name.
  int64_t step = progress_.step, epoch = progress_.epoch;
  if (from_best && best_eval_.is_object())
    step = best_eval_.value("step", step), epoch = best_eval_.value("epoch", epoch);
  test_eval_ = logged_evaluation("test",
                                 {{"kind", "test"},
                                  {"checkpoint", from_best ? "best" : "last"},
                                  {"checkpoint_step", step},
                                  {"checkpoint_epoch", epoch}},
                                 bar);
  return test_eval_;
}

// A step whose loss or gradient is not finite: with on_nonfinite "skip" it changes no parameter
// (as a mixed-precision trainer's skipped step) but still counts; else, or when the parameters
// themselves are no longer finite (no step can mend that), the run has diverged.
void Trainer::skip_or_stop(const std::string& what, bool parameters_finite, double seconds) {
  const std::string message = "step " + std::to_string(progress_.step + 1) + ": " + what;
  if (options_.on_nonfinite == "stop" || !parameters_finite) throw NonFinite(message);
  std::cerr << "heed: warning: " << message << "; the step is skipped\n";
  optimizer_->zero_grad();
  scheduler_->on_step();
  ++progress_.step;
  ++skipped_steps_;
  log_.add_skipped(seconds);
}

ParallelStep Trainer::local_step(const std::vector<int64_t>& indices) {
  ParallelStep s;
  s.stop = stop_requested();
  s.elapsed_ms = elapsed_ms();
  ScoreFunction sampled;  // the choices of layers that sample (REINFORCE attention)
  ModelOutput out = model_->forward(data_.train->get(indices));
  s.loss = out.loss.item();  // the model's loss, logged without the surrogate
  s.count = out.loss_count;
  s.metrics = out.metrics;
  s.finite = std::isfinite(s.loss);
  if (!s.finite) return s;
  if (!sampled.empty()) out.loss = out.loss + sampled.surrogate(out.example_log_likelihood);
  out.loss.backward();
  return s;
}

void Trainer::train_step(const std::vector<int64_t>& indices) {
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const ParallelStep step = parallel_ ? parallel_->step(*data_.train, indices, progress_.step,
                                                        stop_requested(), elapsed_ms())
                                      : local_step(indices);
  agreed_stop_ = step.stop;
  agreed_elapsed_ms_ = step.elapsed_ms;
  communication_s_ += step.communication_s;
  waited_s_by_rank_ = step.waited_s_by_rank;
  if (!step.finite) {
    // The loss is where it shows, but an earlier update may be the cause: name that tensor too.
    const std::string bad = first_nonfinite(model_->named_parameters(), false);
    return skip_or_stop("the loss is " + std::string(std::isnan(step.loss) ? "nan" : "infinite") +
                            (bad.empty() ? "" : " (parameter " + bad + " was not finite already)"),
                        bad.empty(), seconds());
  }
  const StateDict& params = optimizer_->params();
  if (options_.clip_grad_value > 0) clip_grad_value_(params, options_.clip_grad_value);
  // With no norm clipping, an infinite max_norm only measures the norm.
  const double grad_norm =
      clip_grad_norm_(params, options_.clip_grad_norm > 0 ? options_.clip_grad_norm : kInfNorm,
                      options_.clip_grad_norm_type);
  if (!std::isfinite(grad_norm))
    return skip_or_stop("the gradient of " + first_nonfinite(params, true) + " is not finite", true,
                        seconds());
  last_lr_ = optimizer_->lr();
  if (scheduler_->cycles_momentum()) last_momentum_ = optimizer_->momentum(0);
  optimizer_->step();
  optimizer_->zero_grad();
  scheduler_->on_step();
  ++progress_.step;
  if (average_) average_->update(progress_.step);
  std::map<std::string, double> values;  // the batch's; a train line averages its steps'
  for (const auto& [name, m] : step.metrics) values[name] = m.value();
  log_.add_step(step.loss, values, grad_norm, seconds());
}

bool Trainer::stop_agreed() const {
  return comm_.size() > 1 ? agreed_stop_ : stop_requested();
}

int64_t Trainer::budget_elapsed_ms() const {
  return comm_.size() > 1 ? agreed_elapsed_ms_ : elapsed_ms();
}

void Trainer::log_window() {
  nlohmann::json line = {
      {"kind", "train"}, {"epoch", progress_.epoch},           {"step", progress_.step},
      {"lr", last_lr_},  {"elapsed_s", elapsed_ms() / 1000.0}, {"progress", budget_done()}};
  if (scheduler_->cycles_momentum()) line["momentum"] = last_momentum_;
  if (writer_) log_.append_window(line, options_.batch_size);
}

// A wall-clock budget reads the run's elapsed time (resumed runs included, evaluations too), so
// where it stops depends on the machine: the step it stopped at is in summary.json.
bool Trainer::finished() const {
  return early_stopped_ || progress_.epoch >= options_.epochs ||
         (options_.max_steps > 0 && progress_.step >= options_.max_steps) ||
         (options_.max_seconds > 0 &&
          static_cast<double>(budget_elapsed_ms()) >= options_.max_seconds * 1000);
}

// The end of an epoch belongs to the step that ended it, but a stop request skips it: the
// checkpoint then holds a served-out epoch, and the resumed run ends the epoch as this one would
// have.
void Trainer::end_epoch(ProgressLine& bar) {
  ++progress_.epoch;
  progress_.epoch_started = false;
  loader_->restore({0, 0});
  reset_carried_state();  // the next epoch starts its streams from zeros
  scheduler_->on_epoch();
  if (options_.eval_interval == 0) early_stopped_ = after_evaluation(run_evaluation(bar));
  save_last();
}

void Trainer::write_summary(const nlohmann::json& summary) const {
  if (!writer_) return;
  files::write_atomically((fs::path(run_dir_) / "summary.json").string(), summary.dump(2) + "\n",
                          "run file");
}

nlohmann::json Trainer::summary(const std::string& status) const {
  nlohmann::json s = {{"status", status},
                      {"epochs_completed", progress_.epoch},
                      {"steps", progress_.step},
                      {"elapsed_s", elapsed_ms() / 1000.0},
                      {"parameters", model_->num_parameters()},
                      {"peak_rss_mib", peak_rss_mib()},
                      {"final_eval", {{"dev", last_eval_}, {"test", test_eval_}}},
                      {"checkpoint", (fs::path(run_dir_) / "checkpoints" / "last.h5").string()}};
  if (early_stopping_) s["best_eval"] = best_eval_;
  if (skipped_steps_ > 0) s["skipped_steps"] = skipped_steps_;
  if (comm_.size() > 1) {
    s["ranks"] = comm_.size();
    s["communication_s"] = communication_s_;
    s["communication_s_by_rank"] = waited_s_by_rank_;
  }
  return s;
}

nlohmann::json Trainer::train() {
  if (writer_) {
    fs::create_directories(run_dir_);
    // A new run starts metrics.jsonl afresh; a resumed one cuts it back to its checkpoint's size.
    log_.open((fs::path(run_dir_) / "metrics.jsonl").string(),
              restored_ ? progress_.metrics_bytes : 0);
    if (!init_from_.is_null() && !restored_) log_.append(std::exchange(init_from_, nullptr));
  }
  if (parallel_) parallel_->broadcast_state();  // every rank from rank 0's parameters
  ProgressLine bar(total_steps(), progress_.step, isatty(STDERR_FILENO) != 0, writer_);
  last_save_ = std::chrono::steady_clock::now();
  try {
    while (!finished() && !stop_agreed()) {
      if (!progress_.epoch_started) {
        loader_->start_epoch(*order_gen_);
        reset_carried_state();
      }
      progress_.epoch_started = true;
      while (!loader_->epoch_done() && !finished() && !stop_agreed()) {
        train_step(loader_->next_indices());
        bar.update(progress_.step, progress_.epoch, log_.mean_loss(),
                   log_.samples_per_s(options_.batch_size));
        if (progress_.step % options_.log_interval == 0) {
          bar.log(progress_.step, progress_.epoch, log_.mean_loss(),
                  log_.samples_per_s(options_.batch_size));
          log_window();
        }
        if (options_.eval_interval > 0 && progress_.step % options_.eval_interval == 0)
          early_stopped_ = after_evaluation(run_evaluation(bar));
        if (checkpoint_due()) save_last();
      }
      if (loader_->epoch_done() && !stop_agreed()) end_epoch(bar);
    }
    bar.finish();
    std::string status = finished() ? "finished" : "interrupted";
    if (early_stopped_) status = "early_stopped";
    // The closing evaluation is a report: feeding it to the plateau or early stopping would make
    // a run extended later (a larger max_steps) differ from one that ran straight through. It
    // may still be the best checkpoint.
    const bool evaluated = !last_eval_.is_null() && last_eval_.value("step", -1) == progress_.step;
    if (status == "finished" && !evaluated) after_closing_evaluation(run_evaluation(bar));
    save_last();
    if (status != "interrupted") run_test(bar);
    const nlohmann::json s = summary(status);
    write_summary(s);
    return s;
  } catch (const NonFinite& e) {
    bar.finish();
    nlohmann::json s = summary("diverged");
    s["diverged"] = e.what();
    if (writer_)
      log_.append({{"kind", "diverged"}, {"step", progress_.step}, {"reason", e.what()}});
    write_summary(s);
    const std::string kept =
        last_saved_step_ < 0
            ? "; no checkpoint was written before it"
            : "; its last checkpoint (step " + std::to_string(last_saved_step_) + ") is kept";
    throw Error("run " + run_dir_ + " diverged at " + e.what() + kept +
                (options_.on_nonfinite == "stop"
                     ? " (train.on_nonfinite \"skip\" would skip such steps instead)"
                     : ""));
  }
}

}  // namespace heed
