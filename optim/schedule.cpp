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

OneCycleLR::OneCycleLR(Options options) : o_(options) {
  HEED_CHECK(o_.total_steps >= 1, "OneCycleLR: total_steps must be at least 1, got ",
             o_.total_steps);
  HEED_CHECK(o_.pct_start >= 0 && o_.pct_start <= 1,
             "OneCycleLR: pct_start must be in [0, 1], got ", o_.pct_start);
  HEED_CHECK(o_.div_factor > 0 && o_.final_div_factor > 0,
             "OneCycleLR: div_factor and final_div_factor must be positive, got ", o_.div_factor,
             " and ", o_.final_div_factor);
}

double OneCycleLR::lr(double base, int64_t t) const {
  HEED_CHECK(t <= o_.total_steps, "OneCycleLR: tried to step ", t + 1, " times; total_steps is ",
             o_.total_steps);
  const double max_lr = o_.max_lr > 0 ? o_.max_lr : base;
  const double initial = max_lr / o_.div_factor, min_lr = initial / o_.final_div_factor;
  const double total = static_cast<double>(o_.total_steps), up = o_.pct_start * total - 1;
  struct Phase {
    double end_step, start_lr, end_lr;
  };
  std::vector<Phase> phases;
  if (o_.three_phase)
    phases = {{up, initial, max_lr},
              {2 * o_.pct_start * total - 2, max_lr, initial},
              {total - 1, initial, min_lr}};
  else
    phases = {{up, initial, max_lr}, {total - 1, max_lr, min_lr}};
  const double step = static_cast<double>(t);
  double start_step = 0;
  for (size_t i = 0; i < phases.size(); ++i) {
    const Phase& p = phases[i];
    if (step <= p.end_step || i + 1 == phases.size()) {
      // Past the last step (t == total_steps, reached by the step after the last one) PyTorch
      // extrapolates, which can turn a linear lr negative; that lr is never used, and the
      // final value is held instead.
      const double pct = std::min((step - start_step) / (p.end_step - start_step), 1.0);
      if (o_.cos)
        return p.end_lr + (p.start_lr - p.end_lr) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
      return (p.end_lr - p.start_lr) * pct + p.start_lr;
    }
    start_step = p.end_step;
  }
  return min_lr;  // not reached: the last phase always answers
}

std::string OneCycleLR::repr() const {
  std::ostringstream out;
  out << "OneCycleLR(total_steps=" << o_.total_steps << ", max_lr=";
  if (o_.max_lr > 0)
    out << o_.max_lr;
  else
    out << "base lr";
  out << ", pct_start=" << o_.pct_start << ", anneal_strategy=" << (o_.cos ? "cos" : "linear")
      << ", div_factor=" << o_.div_factor << ", final_div_factor=" << o_.final_div_factor
      << ", three_phase=" << (o_.three_phase ? "true" : "false") << ")";
  return out.str();
}

}  // namespace heed::optim
