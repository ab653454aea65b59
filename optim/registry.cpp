// The optimizer and schedule registries: every optimizer a recipe can name under
// "optimizer.name" and every schedule under "schedule.name", two explicit lists. Keys are
// PyTorch's argument names (lr, momentum, betas, eps, weight_decay, T_max, eta_min, ...);
// docs/optim.md documents them.

#include <fnmatch.h>

#include <functional>

#include "framework/registry.h"
#include "optim/adagrad.h"
#include "optim/adam.h"
#include "optim/adamw.h"
#include "optim/early_stopping.h"
#include "optim/lr_scheduler.h"
#include "optim/rmsprop.h"
#include "optim/sgd.h"

namespace heed {

namespace {

// The ranges docs/optim.md lists. PyTorch bounds lr, eps and weight_decay below only, as here;
// it also accepts a momentum, dampening or RMSprop alpha above 1, with which every step grows the
// state geometrically, so heed refuses those.
constexpr Range kRate = range::non_negative;   // lr, eps, weight_decay, lr_decay, eta_min
constexpr Range kFactor = range::probability;  // momentum, dampening, alpha
constexpr Range kSteps = range::count;         // step_size, T_max, warmup_steps, ...
constexpr Range kGamma = range::non_negative;  // StepLR's and MultiStepLR's gamma

// PyTorch's betas=(beta1, beta2): a JSON array of two numbers, each in [0, 1).
std::pair<double, double> betas(const Config& c, std::pair<double, double> fallback) {
  const std::vector<double> b =
      c.get_list<double>("betas", {fallback.first, fallback.second}, range::below_one, 2);
  return {b[0], b[1]};
}

// Each parser reads one group's options: the optimizer's own keys with PyTorch's defaults
// (base == nullptr), or a param_groups entry's keys falling back to those (base).
optim::SGDOptions sgd_options(const Config& c, const optim::SGDOptions* base) {
  optim::SGDOptions o = base ? *base : optim::SGDOptions{};
  o.lr = base ? c.get<double>("lr", o.lr, kRate) : c.require<double>("lr", kRate);
  o.momentum = c.get<double>("momentum", o.momentum, kFactor);
  o.dampening = c.get<double>("dampening", o.dampening, kFactor);
  o.weight_decay = c.get<double>("weight_decay", o.weight_decay, kRate);
  o.nesterov = c.get<bool>("nesterov", o.nesterov);
  return o;
}

template <class Options>
Options adam_like_options(const Config& c, const Options* base) {
  Options o = base ? *base : Options{};
  o.lr = c.get<double>("lr", o.lr, kRate);
  std::tie(o.beta1, o.beta2) = betas(c, {o.beta1, o.beta2});
  o.eps = c.get<double>("eps", o.eps, kRate);
  o.weight_decay = c.get<double>("weight_decay", o.weight_decay, kRate);
  o.amsgrad = c.get<bool>("amsgrad", o.amsgrad);
  return o;
}

optim::RMSpropOptions rmsprop_options(const Config& c, const optim::RMSpropOptions* base) {
  optim::RMSpropOptions o = base ? *base : optim::RMSpropOptions{};
  o.lr = c.get<double>("lr", o.lr, kRate);
  o.alpha = c.get<double>("alpha", o.alpha, kFactor);
  o.eps = c.get<double>("eps", o.eps, kRate);
  o.weight_decay = c.get<double>("weight_decay", o.weight_decay, kRate);
  o.momentum = c.get<double>("momentum", o.momentum, kFactor);
  o.centered = c.get<bool>("centered", o.centered);
  return o;
}

optim::AdagradOptions adagrad_options(const Config& c, const optim::AdagradOptions* base) {
  optim::AdagradOptions o = base ? *base : optim::AdagradOptions{};
  o.lr = c.get<double>("lr", o.lr, kRate);
  o.lr_decay = c.get<double>("lr_decay", o.lr_decay, kRate);
  o.weight_decay = c.get<double>("weight_decay", o.weight_decay, kRate);
  o.initial_accumulator_value =
      c.get<double>("initial_accumulator_value", o.initial_accumulator_value, kRate);
  o.eps = c.get<double>("eps", o.eps, kRate);
  return o;
}

// "optimizer.param_groups": [{"params": ["*.bias", "*norm*"], "weight_decay": 0}, ...]. Group 0
// is the default group (the optimizer's own keys) with every parameter no pattern claims; the
// listed groups follow in order, and a parameter goes to the first group with a matching glob
// (fnmatch, `*` crossing dots). A pattern that matches nothing is an error: a typo must not
// silently leave weight decay on.
template <class Options>
using Parser = Options (*)(const Config&, const Options*);

// What an optimizer's section says, read without any parameter: each group's options (group 0:
// the section's own) and each listed group's name patterns.
template <class Options>
struct GroupedOptions {
  std::vector<optim::ParamGroup<Options>> groups;
  std::vector<std::vector<std::string>> patterns;
  std::vector<std::string> pattern_paths;
};

template <class Options>
GroupedOptions<Options> read_groups(const Config& c, Parser<Options> parse) {
  const Options defaults = parse(c, nullptr);
  GroupedOptions<Options> o;
  o.groups = {{{}, defaults}};
  for (const Config& g : c.objects("param_groups")) {
    HEED_RECIPE_CHECK(g.has("params"), g.path_of("params"),
                      " is required: the name patterns of the group's parameters");
    const nlohmann::json& p = g.json().at("params");
    HEED_RECIPE_CHECK(p.is_array() && !p.empty(), g.path_of("params"),
                      " must be a non-empty list of name patterns, got ", p.dump());
    for (size_t j = 0; j < p.size(); ++j)
      HEED_RECIPE_CHECK(p[j].is_string(), g.path_of("params") + "." + std::to_string(j),
                        " must be a name pattern (a string such as \"*.bias\"), got ", p[j].dump());
    o.patterns.push_back(p.get<std::vector<std::string>>());
    o.pattern_paths.push_back(g.path_of("params"));
    o.groups.push_back({{}, parse(g, &defaults)});
    g.finish();
  }
  c.finish();
  return o;
}

// The options read_groups reads, for `heed list` (Config::describe): no parameter, no optimizer.
template <class Options, Parser<Options> parse>
void read_only(const Config& c) {
  read_groups(c, parse);
}

template <class Opt, class Options>
std::unique_ptr<optim::Optimizer> grouped(const Config& c, const StateDict& params,
                                          Parser<Options> parse) {
  GroupedOptions<Options> read = read_groups(c, parse);
  std::vector<optim::ParamGroup<Options>>& groups = read.groups;
  const std::vector<std::vector<std::string>>& patterns = read.patterns;
  const std::vector<std::string>& pattern_paths = read.pattern_paths;
  std::vector<std::vector<bool>> used;
  for (const auto& list : patterns) used.emplace_back(list.size(), false);
  for (const auto& [name, param] : params) {
    size_t group = 0;
    for (size_t k = 0; k < patterns.size() && group == 0; ++k)
      for (size_t j = 0; j < patterns[k].size(); ++j)
        if (fnmatch(patterns[k][j].c_str(), name.c_str(), 0) == 0) {
          used[k][j] = true;
          group = k + 1;
          break;
        }
    groups[group].params.emplace_back(name, param);
  }
  for (size_t k = 0; k < patterns.size(); ++k)
    for (size_t j = 0; j < patterns[k].size(); ++j)
      if (!used[k][j]) {
        std::string names;
        for (size_t i = 0; i < params.size() && i < 8; ++i)
          names += (i ? ", " : "") + params[i].first;
        throw recipe_error(
            pattern_paths[k] + "." + std::to_string(j), ": pattern \"", patterns[k][j],
            "\" matches no parameter not already in an earlier group (parameters: ", names,
            params.size() > 8 ? ", ..." : "", ")");
      }
  // An optimizer's own checks (Nesterov needs momentum, ...) name the section.
  return with_recipe_path(c.path(), [&] { return std::make_unique<Opt>(std::move(groups)); });
}

std::unique_ptr<optim::Optimizer> sgd(const Config& c, const StateDict& params) {
  return grouped<optim::SGD>(c, params, sgd_options);
}

std::unique_ptr<optim::Optimizer> adam(const Config& c, const StateDict& params) {
  return grouped<optim::Adam>(c, params, adam_like_options<optim::AdamOptions>);
}

std::unique_ptr<optim::Optimizer> adamw(const Config& c, const StateDict& params) {
  return grouped<optim::AdamW>(c, params, adam_like_options<optim::AdamWOptions>);
}

std::unique_ptr<optim::Optimizer> rmsprop(const Config& c, const StateDict& params) {
  return grouped<optim::RMSprop>(c, params, rmsprop_options);
}

std::unique_ptr<optim::Optimizer> adagrad(const Config& c, const StateDict& params) {
  return grouped<optim::Adagrad>(c, params, adagrad_options);
}

// What the options' recorded defaults and ranges do not say (OptionNote).
const std::vector<OptionNote> kGroupsNote = {
    {"param_groups", "",
     "each {\"params\": [name globs], and any of the options above}, its parameters' group"}};

struct Entry {
  RegistryEntry about;  // `options` is generated from `read` (list_optimizers)
  std::unique_ptr<optim::Optimizer> (*build)(const Config&, const StateDict&);
  void (*read)(const Config&);  // the options `build` reads, and nothing else
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> list = {
      {{"optimizer", "sgd",
        "SGD with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD)", ""},
       sgd,
       read_only<optim::SGDOptions, sgd_options>},
      {{"optimizer", "adam",
        "Adam (Kingma & Ba 2015), optionally AMSGrad, weight_decay as L2 (torch.optim.Adam)", ""},
       adam,
       read_only<optim::AdamOptions, adam_like_options<optim::AdamOptions>>},
      {{"optimizer", "adamw",
        "AdamW, Adam with decoupled weight decay (Loshchilov & Hutter 2019; torch.optim.AdamW)",
        ""},
       adamw,
       read_only<optim::AdamWOptions, adam_like_options<optim::AdamWOptions>>},
      {{"optimizer", "rmsprop", "RMSprop (Hinton 2012), optionally centered (torch.optim.RMSprop)",
        ""},
       rmsprop,
       read_only<optim::RMSpropOptions, rmsprop_options>},
      {{"optimizer", "adagrad", "Adagrad (Duchi et al. 2011; torch.optim.Adagrad)", ""},
       adagrad,
       read_only<optim::AdagradOptions, adagrad_options>},
  };
  return list;
}

// Schedules. What they need to know of the run: `total`, its length in the schedule's interval
// (steps or epochs), the default of T_max and total_steps (a warm-up's "after" gets what the
// warm-up leaves), and the optimizer's number of parameter groups (per-group lists).
using SchedulePtr = std::unique_ptr<optim::Schedule>;

struct Run {
  int64_t total;
  size_t groups;
};

// What `heed list` describes schedules with (Config::describe): the defaults derived from it are
// printed as notes ("the run's length"), not as these numbers.
constexpr Run kDescribedRun = {1, 1};

// Each schedule's reader reads its options (all of them, and every check of them) and returns
// what builds the schedule from them, so that `heed list` runs the reader alone.
using ScheduleMaker = std::function<SchedulePtr()>;

struct ScheduleEntry {
  RegistryEntry about;  // `options` is generated from `read` and `notes` (list_schedules)
  ScheduleMaker (*read)(const Config&, const Run& run);  // nullptr: reduce_on_plateau
  std::vector<OptionNote> notes;                         // what the recorded defaults do not say
};

ScheduleMaker read_curve(const Config& c, const Run& run);

ScheduleMaker step_lr(const Config& c, const Run&) {
  const int64_t step_size = c.require<int64_t>("step_size", kSteps);
  const double gamma = c.get<double>("gamma", 0.1, kGamma);
  return [=] { return std::make_unique<optim::StepLR>(step_size, gamma); };
}

ScheduleMaker multi_step(const Config& c, const Run&) {
  HEED_RECIPE_CHECK(c.describing() || c.has("milestones"), c.path_of("milestones"),
                    " is required: a list of increasing step numbers");
  const std::vector<int64_t> milestones = c.get_list<int64_t>("milestones", {}, kSteps);
  for (size_t i = 1; i < milestones.size(); ++i)
    HEED_RECIPE_CHECK(
        milestones[i] > milestones[i - 1], c.path_of("milestones") + "." + std::to_string(i),
        " must be above the milestone before it (", milestones[i - 1], "), got ", milestones[i]);
  const double gamma = c.get<double>("gamma", 0.1, kGamma);
  return [=] { return std::make_unique<optim::MultiStepLR>(milestones, gamma); };
}

ScheduleMaker exponential(const Config& c, const Run&) {
  const double gamma = c.require<double>("gamma", range::positive);
  return [=] { return std::make_unique<optim::ExponentialLR>(gamma); };
}

ScheduleMaker cosine(const Config& c, const Run& run) {
  const int64_t T_max = c.get<int64_t>("T_max", run.total, kSteps);
  const double eta_min = c.get<double>("eta_min", 0.0, kRate);
  return [=] { return std::make_unique<optim::CosineAnnealingLR>(T_max, eta_min); };
}

ScheduleMaker cosine_warm_restarts(const Config& c, const Run&) {
  const int64_t T_0 = c.require<int64_t>("T_0", kSteps);
  // T_mult <= 2^20 keeps T_0 * T_mult^k below int64's range up to the run's last step.
  const int64_t T_mult = c.get<int64_t>("T_mult", 1, Range{1, kMaxSize});
  const double eta_min = c.get<double>("eta_min", 0.0, kRate);
  return [=] { return std::make_unique<optim::CosineAnnealingWarmRestarts>(T_0, T_mult, eta_min); };
}

ScheduleMaker warmup(const Config& c, const Run& run) {
  const int64_t steps = c.require<int64_t>("warmup_steps", kSteps);
  const double start_factor = c.get<double>("start_factor", 1.0 / 3, Range{0, 1, true});
  ScheduleMaker after;
  if (c.has("after"))
    after = read_curve(c.child("after"), {std::max<int64_t>(run.total - steps, 1), run.groups});
  return [=] {
    return std::make_unique<optim::LinearWarmup>(steps, start_factor,
                                                 after ? after() : SchedulePtr());
  };
}

ScheduleMaker noam(const Config& c, const Run&) {
  const int64_t warmup_steps = c.get<int64_t>("warmup_steps", 4000, kSteps);
  const double d_model = static_cast<double>(c.require<int64_t>("d_model", range::size));
  const double factor = c.get<double>("factor", 1.0, range::positive);
  const double scale = factor / std::sqrt(d_model) / std::sqrt(static_cast<double>(warmup_steps));
  return [=] { return std::make_unique<optim::InverseSqrtLR>("noam", warmup_steps, scale); };
}

ScheduleMaker inverse_sqrt(const Config& c, const Run&) {
  const int64_t warmup_steps = c.get<int64_t>("warmup_steps", 4000, kSteps);
  return [=] { return std::make_unique<optim::InverseSqrtLR>("inverse_sqrt", warmup_steps, 1.0); };
}

// One number for every parameter group, or a list of one per group (group 0, then each of
// optimizer.param_groups), as PyTorch's OneCycleLR takes base_momentum and max_momentum.
std::vector<double> per_group(const Config& c, const std::string& key, double fallback,
                              size_t groups) {
  // Absent (and in Config::describe) as a number, so its default and range are recorded.
  if (!c.has(key) || c.json().at(key).is_number()) return {c.get<double>(key, fallback, kFactor)};
  const nlohmann::json& v = c.json().at(key);
  HEED_RECIPE_CHECK(v.is_array() && v.size() == groups, c.path_of(key),
                    " must be a number or a list of one number per parameter group (", groups,
                    ": group 0, then each of optimizer.param_groups), got ", v.dump());
  return c.get_list<double>(key, {}, kFactor, groups);
}

ScheduleMaker one_cycle(const Config& c, const Run& run) {
  optim::OneCycleLR::Options o;
  o.total_steps = c.get<int64_t>("total_steps", run.total, kSteps);
  // PyTorch raises when stepped past total_steps: refuse the run now rather than at that step.
  HEED_RECIPE_CHECK(o.total_steps >= run.total, c.path_of("total_steps"),
                    " must be at least the run's length, ", run.total,
                    " (one_cycle cannot step past total_steps), got ", o.total_steps);
  o.max_lr = c.get<double>("max_lr", 0.0, kRate);
  o.pct_start = c.get<double>("pct_start", o.pct_start, range::probability);
  o.cos = c.choice("anneal_strategy", "cos", {"cos", "linear"}) == "cos";
  o.div_factor = c.get<double>("div_factor", o.div_factor, range::positive);
  o.final_div_factor = c.get<double>("final_div_factor", o.final_div_factor, range::positive);
  o.three_phase = c.get<bool>("three_phase", o.three_phase);
  o.cycle_momentum = c.get<bool>("cycle_momentum", o.cycle_momentum);
  o.base_momentum = per_group(c, "base_momentum", o.base_momentum[0], run.groups);
  o.max_momentum = per_group(c, "max_momentum", o.max_momentum[0], run.groups);
  return [=] { return std::make_unique<optim::OneCycleLR>(o); };
}

// The evaluation metric a plateau or early stopping watches: one of `metrics` when the caller
// knows them, so that a typo is refused when the recipe is read, not at the first evaluation.
std::string watched_metric(const Config& c, const std::string& fallback,
                           const std::vector<std::string>& metrics) {
  return metrics.empty() ? c.get<std::string>("metric", fallback)
                         : c.choice("metric", fallback, metrics);
}

optim::ReduceLROnPlateauOptions plateau_options(const Config& c,
                                                const std::vector<std::string>& metrics) {
  optim::ReduceLROnPlateauOptions o;
  o.metric = watched_metric(c, o.metric, metrics);
  o.mode = c.choice("mode", o.mode, {"min", "max"});
  o.factor = c.get<double>("factor", o.factor, Range{0, 1, true, true});
  o.patience = c.get<int64_t>("patience", o.patience, range::count_or_zero);
  o.threshold = c.get<double>("threshold", o.threshold, range::non_negative);
  o.threshold_mode = c.choice("threshold_mode", o.threshold_mode, {"rel", "abs"});
  o.cooldown = c.get<int64_t>("cooldown", o.cooldown, range::count_or_zero);
  o.min_lr = c.get<double>("min_lr", o.min_lr, kRate);
  o.eps = c.get<double>("eps", o.eps, kRate);
  return o;
}

// The interval a curve (not a warm-up's "after") steps at; its "total" is the run's length in it.
optim::LRScheduler::Interval read_interval(const Config& c) {
  return c.choice("interval", "step", {"step", "epoch"}) == "step"
             ? optim::LRScheduler::Interval::Step
             : optim::LRScheduler::Interval::Epoch;
}

const std::vector<ScheduleEntry>& schedule_entries() {
  static const std::vector<ScheduleEntry> list = {
      {{"schedule", "step", "StepLR: lr * gamma every step_size steps", ""}, step_lr, {}},
      {{"schedule", "multi_step", "MultiStepLR: lr * gamma at each milestone", ""},
       multi_step,
       {{"milestones", "required", "increasing"}}},
      {{"schedule", "exponential", "ExponentialLR: lr * gamma^t", ""}, exponential, {}},
      {{"schedule", "cosine", "CosineAnnealingLR (Loshchilov & Hutter 2017)", ""},
       cosine,
       {{"T_max", "the run's length", "in the interval's unit"}}},
      {{"schedule", "cosine_warm_restarts", "CosineAnnealingWarmRestarts (SGDR)", ""},
       cosine_warm_restarts,
       {}},
      {{"schedule", "warmup",
        "linear warm-up, then the \"after\" schedule (LinearLR + SequentialLR)", ""},
       warmup,
       {{"after", "none: constant lr",
         "a schedule object without \"interval\" (it takes the warm-up's), over the run's length "
         "less warmup_steps"}}},
      {{"schedule", "noam", "the Transformer's schedule (Vaswani et al. 2017, eq. 3)", ""},
       noam,
       {}},
      {{"schedule", "inverse_sqrt", "linear warm-up to lr, then lr * sqrt(warmup_steps / step)",
        ""},
       inverse_sqrt,
       {}},
      {{"schedule", "one_cycle",
        "OneCycleLR (Smith & Topin 2019): lr up then down, momentum (or Adam's beta1) inversely",
        ""},
       one_cycle,
       {{"total_steps", "the run's length", "at least that"},
        {"max_lr", "the optimizer's lr", ""},
        {"base_momentum", "", "or a list of one per parameter group"},
        {"max_momentum", "", "or a list of one per parameter group"}}},
      {{"schedule", "reduce_on_plateau",
        "ReduceLROnPlateau on an evaluation metric; combines with one other schedule in a list",
        ""},
       nullptr,
       {{"metric", "", "one of the metrics an evaluation reports"}}},
  };
  return list;
}

const ScheduleEntry& find_schedule(const Config& c) {
  const std::string name = c.require<std::string>("name");
  return find_entry(schedule_entries(), name, "schedule", c.path_of("name"));
}

// A curve without its interval (a warm-up's "after" follows the warm-up's interval), finished.
ScheduleMaker read_curve(const Config& c, const Run& run) {
  const ScheduleEntry& entry = find_schedule(c);
  HEED_RECIPE_CHECK(entry.read != nullptr, c.path_of("name"),
                    ": reduce_on_plateau follows evaluations, not steps; give it beside the other "
                    "schedule in a list: \"schedule\": [{...}, {\"name\": \"reduce_on_plateau\"}]");
  ScheduleMaker make = entry.read(c, run);
  c.finish();
  return make;
}

}  // namespace

std::unique_ptr<Optimizer> build_optimizer(const Config& config, const StateDict& params) {
  const std::string name = config.require<std::string>("name");
  const Entry& entry = find_entry(entries(), name, "optimizer", config.path_of("name"));
  return with_recipe_path(config.path(), [&] { return entry.build(config, params); });
}

std::vector<RegistryEntry> list_optimizers() {
  std::vector<RegistryEntry> out;
  for (const Entry& e : entries()) {
    RegistryEntry about = e.about;
    about.options = options_text(with_notes(Config::describe(e.read), kGroupsNote));
    out.push_back(about);
  }
  return out;
}

std::unique_ptr<LRScheduler> build_scheduler(const Config& root, Optimizer& optimizer,
                                             int64_t total_steps, int64_t total_epochs,
                                             const std::vector<std::string>& metrics) {
  using Interval = optim::LRScheduler::Interval;
  SchedulePtr curve;
  std::string curve_path = root.path_of("schedule");
  std::unique_ptr<optim::ReduceLROnPlateau> plateau;
  Interval interval = Interval::Step;
  std::vector<Config> items;
  if (root.has("schedule")) {
    const nlohmann::json& section = root.json().at("schedule");
    HEED_RECIPE_CHECK(section.is_object() || section.is_array(), root.path_of("schedule"),
                      " must be an object or a list of objects, got ", section.dump());
    items =
        section.is_array() ? root.objects("schedule") : std::vector<Config>{root.child("schedule")};
  }
  for (const Config& c : items) {
    const ScheduleEntry& entry = find_schedule(c);
    with_recipe_path(c.path(), [&] {
      if (entry.read == nullptr) {
        HEED_RECIPE_CHECK(!plateau, c.path(), ": a second reduce_on_plateau");
        plateau = std::make_unique<optim::ReduceLROnPlateau>(plateau_options(c, metrics),
                                                             optimizer.num_groups());
      } else {
        HEED_RECIPE_CHECK(!curve, c.path(),
                          ": a second schedule; a list holds one schedule and one "
                          "reduce_on_plateau (use warmup's \"after\" to chain)");
        interval = read_interval(c);
        curve = entry.read(
            c, {interval == Interval::Step ? total_steps : total_epochs, optimizer.num_groups()})();
        curve_path = c.path();
      }
      c.finish();
      return 0;
    });
  }
  // Setting the momentum for step 0 can fail (Adagrad has none, Adam refuses a beta1 >= 1).
  return with_recipe_path(curve_path, [&] {
    return std::make_unique<optim::LRScheduler>(optimizer, std::move(curve), interval,
                                                std::move(plateau));
  });
}

std::vector<RegistryEntry> list_schedules() {
  std::vector<RegistryEntry> out;
  for (const ScheduleEntry& e : schedule_entries()) {
    // What build_scheduler reads of one schedule object, less "name".
    const std::vector<OptionDoc> docs = Config::describe([&](const Config& c) {
      if (e.read == nullptr) {
        plateau_options(c, {});
      } else {
        read_interval(c);
        e.read(c, kDescribedRun);
      }
    });
    RegistryEntry about = e.about;
    about.options = options_text(with_notes(docs, e.notes));
    out.push_back(about);
  }
  return out;
}

std::unique_ptr<EarlyStopping> build_early_stopping(const Config& c,
                                                    const std::vector<std::string>& metrics) {
  optim::EarlyStoppingOptions o;
  o.metric = watched_metric(c, o.metric, metrics);
  o.mode = c.choice("mode", o.mode, {"min", "max"});
  o.patience = c.get<int64_t>("patience", o.patience, kSteps);
  o.min_delta = c.get<double>("min_delta", o.min_delta, range::non_negative);
  c.finish();
  return with_recipe_path(c.path(), [&] { return std::make_unique<optim::EarlyStopping>(o); });
}

}  // namespace heed
