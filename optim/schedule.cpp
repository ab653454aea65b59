#include "optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

#include "framework/error.h"

namespace heed::optim {

namespace {

double power(double gamma, int64_t n) {
  return std::pow(gamma, static_cast<double>(n));
}

}  // namespace

double Schedule::momentum(size_t, int64_t) const {
  throw Error(repr() + " does not set the momentum");
}

StepLR::StepLR(int64_t step_size, double gamma) : step_size_(step_size), gamma_(gamma) {
  HEED_CHECK(step_size >= 1, "StepLR: step_size must be at least 1, got ", step_size);
}

double StepLR::lr(double base, int64_t t) const {
  return base * power(gamma_, t / step_size_);
}

std::string StepLR::repr() const {
  std::ostringstream out;
  out << "StepLR(step_size=" << step_size_ << ", gamma=" << gamma_ << ")";
  return out.str();
}

MultiStepLR::MultiStepLR(std::vector<int64_t> milestones, double gamma)
    : milestones_(std::move(milestones)), gamma_(gamma) {
  HEED_CHECK(!milestones_.empty(), "MultiStepLR: milestones must not be empty");
  for (size_t i = 0; i < milestones_.size(); ++i)
    HEED_CHECK(milestones_[i] >= 1 && (i == 0 || milestones_[i] > milestones_[i - 1]),
               "MultiStepLR: milestones must be increasing and at least 1, got ", milestones_[i],
               " at index ", i);
}

double MultiStepLR::lr(double base, int64_t t) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), t);
  return base * power(gamma_, passed - milestones_.begin());
}

std::string MultiStepLR::repr() const {
  std::ostringstream out;
  out << "MultiStepLR(milestones=[";
  for (size_t i = 0; i < milestones_.size(); ++i) out << (i ? ", " : "") << milestones_[i];
  out << "], gamma=" << gamma_ << ")";
  return out.str();
}

ExponentialLR::ExponentialLR(double gamma) : gamma_(gamma) {
  HEED_CHECK(gamma > 0, "ExponentialLR: gamma must be positive, got ", gamma);
}

double ExponentialLR::lr(double base, int64_t t) const {
  return base * power(gamma_, t);
}

std::string ExponentialLR::repr() const {
  std::ostringstream out;
  out << "ExponentialLR(gamma=" << gamma_ << ")";
  return out.str();
}

CosineAnnealingLR::CosineAnnealingLR(int64_t T_max, double eta_min)
    : T_max_(T_max), eta_min_(eta_min) {
  HEED_CHECK(T_max >= 1, "CosineAnnealingLR: T_max must be at least 1, got ", T_max);
  HEED_CHECK(eta_min >= 0, "CosineAnnealingLR: eta_min must be >= 0, got ", eta_min);
}

double CosineAnnealingLR::lr(double base, int64_t t) const {
  const double phase = std::numbers::pi * static_cast<double>(t) / static_cast<double>(T_max_);
  return eta_min_ + (base - eta_min_) * (1 + std::cos(phase)) / 2;
}

std::string CosineAnnealingLR::repr() const {
  std::ostringstream out;
  out << "CosineAnnealingLR(T_max=" << T_max_ << ", eta_min=" << eta_min_ << ")";
  return out.str();
}

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(int64_t T_0, int64_t T_mult,
                                                         double eta_min)
    : T_0_(T_0), T_mult_(T_mult), eta_min_(eta_min) {
  HEED_CHECK(T_0 >= 1, "CosineAnnealingWarmRestarts: T_0 must be at least 1, got ", T_0);
  HEED_CHECK(T_mult >= 1, "CosineAnnealingWarmRestarts: T_mult must be at least 1, got ", T_mult);
  HEED_CHECK(eta_min >= 0, "CosineAnnealingWarmRestarts: eta_min must be >= 0, got ", eta_min);
}

double CosineAnnealingWarmRestarts::lr(double base, int64_t t) const {
  // Walks the periods in integers, as PyTorch's step() does; its log-based closed form can land
  // in the wrong period at a boundary.
  int64_t T_i = T_0_, T_cur = t;
  if (T_mult_ == 1) {
    T_cur = t % T_0_;
  } else {
    while (T_cur >= T_i) {
      T_cur -= T_i;
      T_i *= T_mult_;
    }
  }
  const double phase = std::numbers::pi * static_cast<double>(T_cur) / static_cast<double>(T_i);
  return eta_min_ + (base - eta_min_) * (1 + std::cos(phase)) / 2;
}

std::string CosineAnnealingWarmRestarts::repr() const {
  std::ostringstream out;
  out << "CosineAnnealingWarmRestarts(T_0=" << T_0_ << ", T_mult=" << T_mult_
      << ", eta_min=" << eta_min_ << ")";
  return out.str();
}

LinearWarmup::LinearWarmup(int64_t warmup_steps, double start_factor,
                           std::unique_ptr<Schedule> after)
    : warmup_steps_(warmup_steps), start_factor_(start_factor), after_(std::move(after)) {
  HEED_CHECK(warmup_steps >= 1, "LinearWarmup: warmup_steps must be at least 1, got ",
             warmup_steps);
  HEED_CHECK(start_factor > 0 && start_factor <= 1,
             "LinearWarmup: start_factor must be in (0, 1], got ", start_factor);
}

double LinearWarmup::lr(double base, int64_t t) const {
  if (t >= warmup_steps_) return after_ ? after_->lr(base, t - warmup_steps_) : base;
  const double done = static_cast<double>(t) / static_cast<double>(warmup_steps_);
  return base * (start_factor_ + (1 - start_factor_) * done);
}

double LinearWarmup::momentum(size_t group, int64_t t) const {
  HEED_CHECK(cycles_momentum(), repr(), " does not set the momentum");
  return after_->momentum(group, std::max<int64_t>(t - warmup_steps_, 0));
}

std::string LinearWarmup::name() const {
  return after_ ? "warmup>" + after_->name() : "warmup";
}

std::string LinearWarmup::repr() const {
  std::ostringstream out;
  out << "LinearWarmup(warmup_steps=" << warmup_steps_ << ", start_factor=" << start_factor_
      << ", after=" << (after_ ? after_->repr() : "none") << ")";
  return out.str();
}

InverseSqrtLR::InverseSqrtLR(std::string name, int64_t warmup_steps, double scale)
    : name_(std::move(name)), warmup_steps_(warmup_steps), scale_(scale) {
  HEED_CHECK(warmup_steps >= 1, name_, ": warmup_steps must be at least 1, got ", warmup_steps);
  HEED_CHECK(scale > 0, name_, ": the scale must be positive, got ", scale);
}

double InverseSqrtLR::lr(double base, int64_t t) const {
  const double s = static_cast<double>(t + 1), w = static_cast<double>(warmup_steps_);
  return base * scale_ * std::min(s / w, std::sqrt(w / s));
}

std::string InverseSqrtLR::repr() const {
  std::ostringstream out;
  out << "InverseSqrtLR(" << name_ << ", warmup_steps=" << warmup_steps_ << ", scale=" << scale_
      << ")";
  return out.str();
}

OneCycleLR::OneCycleLR(Options options) : o_(std::move(options)) {
  HEED_CHECK(o_.total_steps >= 1, "OneCycleLR: total_steps must be at least 1, got ",
             o_.total_steps);
  HEED_CHECK(o_.pct_start >= 0 && o_.pct_start <= 1,
             "OneCycleLR: pct_start must be in [0, 1], got ", o_.pct_start);
  HEED_CHECK(o_.div_factor > 0 && o_.final_div_factor > 0,
             "OneCycleLR: div_factor and final_div_factor must be positive, got ", o_.div_factor,
             " and ", o_.final_div_factor);
  HEED_CHECK(!o_.base_momentum.empty() && !o_.max_momentum.empty(),
             "OneCycleLR: base_momentum and max_momentum need a value for every group, or one "
             "for all");
}

OneCycleLR::Position OneCycleLR::position(int64_t t) const {
  HEED_CHECK(t <= o_.total_steps, "OneCycleLR: tried to step ", t + 1, " times; total_steps is ",
             o_.total_steps);
  const double total = static_cast<double>(o_.total_steps), up = o_.pct_start * total - 1;
  const std::vector<double> ends =
      o_.three_phase ? std::vector<double>{up, 2 * o_.pct_start * total - 2, total - 1}
                     : std::vector<double>{up, total - 1};
  const double step = static_cast<double>(t);
  double start_step = 0;
  size_t i = 0;
  while (step > ends[i] && i + 1 < ends.size()) start_step = ends[i++];
  // Past the last step (t == total_steps, reached by the step after the last one) PyTorch
  // extrapolates, which can turn a linear lr negative; that value is never used, and the final
  // one is held instead.
  return {i, std::min((step - start_step) / (ends[i] - start_step), 1.0)};
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (o_.cos) return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
  return (end - start) * pct + start;
}

double OneCycleLR::lr(double base, int64_t t) const {
  const double max_lr = o_.max_lr > 0 ? o_.max_lr : base;
  const double initial = max_lr / o_.div_factor, min_lr = initial / o_.final_div_factor;
  // The lr at the ends of the phases: phase i goes from points[i] to points[i + 1].
  const std::vector<double> points = o_.three_phase
                                         ? std::vector<double>{initial, max_lr, initial, min_lr}
                                         : std::vector<double>{initial, max_lr, min_lr};
  const Position p = position(t);
  return anneal(points[p.phase], points[p.phase + 1], p.pct);
}

double OneCycleLR::of_group(const std::vector<double>& values, const char* key,
                            size_t group) const {
  if (values.size() == 1) return values[0];
  HEED_CHECK(group < values.size(), "OneCycleLR: ", key, " has ", values.size(),
             " values, one per parameter group, but there is a group ", group);
  return values[group];
}

double OneCycleLR::momentum(size_t group, int64_t t) const {
  HEED_CHECK(o_.cycle_momentum, repr(), " does not set the momentum");
  const double low = of_group(o_.base_momentum, "base_momentum", group);
  const double high = of_group(o_.max_momentum, "max_momentum", group);
  // Inverse to the lr; PyTorch's third phase holds max_momentum.
  const std::vector<double> points = o_.three_phase ? std::vector<double>{high, low, high, high}
                                                    : std::vector<double>{high, low, high};
  const Position p = position(t);
  return anneal(points[p.phase], points[p.phase + 1], p.pct);
}

std::string OneCycleLR::repr() const {
  auto list = [](const std::vector<double>& v) {
    std::ostringstream out;
    if (v.size() == 1) {
      out << v[0];
    } else {
      out << "[";
      for (size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i];
      out << "]";
    }
    return out.str();
  };
  std::ostringstream out;
  out << "OneCycleLR(total_steps=" << o_.total_steps << ", max_lr=";
  if (o_.max_lr > 0)
    out << o_.max_lr;
  else
    out << "base lr";
  out << ", pct_start=" << o_.pct_start << ", anneal_strategy=" << (o_.cos ? "cos" : "linear")
      << ", div_factor=" << o_.div_factor << ", final_div_factor=" << o_.final_div_factor
      << ", three_phase=" << (o_.three_phase ? "true" : "false");
  if (o_.cycle_momentum)
    out << ", cycle_momentum=true, base_momentum=" << list(o_.base_momentum)
        << ", max_momentum=" << list(o_.max_momentum);
  else
    out << ", cycle_momentum=false";
  out << ")";
  return out.str();
}

}  // namespace heed::optim
