#include "optim/lr_scheduler.h"

#include <sstream>

#include "framework/error.h"

namespace heed::optim {

LRScheduler::LRScheduler(heed::Optimizer& optimizer, std::unique_ptr<Schedule> schedule,
                         Interval interval, std::unique_ptr<ReduceLROnPlateau> plateau)
    : optimizer_(&optimizer),
      schedule_(std::move(schedule)),
      interval_(interval),
      plateau_(std::move(plateau)) {
  // PyTorch's OneCycleLR: "optimizer must support momentum with `cycle_momentum` option enabled".
  HEED_CHECK(!cycles_momentum() || optimizer.has_momentum(), schedule_->name(),
             ": cycle_momentum needs an optimizer with a momentum (sgd, rmsprop) or a beta1 (adam, "
             "adamw), and ",
             optimizer.type(), " has neither; set cycle_momentum to false");
  for (size_t g = 0; g < optimizer.num_groups(); ++g) base_lrs_.push_back(optimizer.lr(g));
  apply();
}

void LRScheduler::apply() {
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    double lr = schedule_ ? schedule_->lr(base_lrs_[g], t_) : base_lrs_[g];
    if (plateau_) lr = plateau_->lr(g, lr);
    optimizer_->set_lr(g, lr);
    if (cycles_momentum()) optimizer_->set_momentum(g, schedule_->momentum(g, t_));
  }
}

void LRScheduler::on_step() {
  if (interval_ != Interval::Step || !schedule_) return;
  ++t_;
  apply();
}

void LRScheduler::on_epoch() {
  if (interval_ != Interval::Epoch || !schedule_) return;
  ++t_;
  apply();
}

void LRScheduler::on_eval(const nlohmann::json& metrics) {
  if (!plateau_) return;
  const std::string& metric = plateau_->options().metric;
  if (!metrics.contains(metric) || !metrics.at(metric).is_number()) {
    std::string available;
    for (const auto& [key, value] : metrics.items())
      if (value.is_number()) available += (available.empty() ? "" : ", ") + key;
    throw Error("reduce_on_plateau: the evaluation has no metric \"" + metric +
                "\" (available: " + available + ")");
  }
  std::vector<double> lrs;
  for (size_t g = 0; g < base_lrs_.size(); ++g) lrs.push_back(optimizer_->lr(g));
  plateau_->step(metrics.at(metric).get<double>(), lrs);
  apply();
}

std::string LRScheduler::name() const {
  std::string n = schedule_ ? schedule_->name() : "constant";
  return plateau_ ? n + "+reduce_on_plateau" : n;
}

nlohmann::json LRScheduler::state_dict() const {
  nlohmann::json s = {{"name", name()}, {"t", t_}};
  if (plateau_) s["plateau"] = plateau_->state_dict();
  return s;
}

void LRScheduler::load_state_dict(const nlohmann::json& state) {
  const std::string saved = state.value("name", std::string("(none)"));
  HEED_CHECK(saved == name(), "schedule: the checkpoint was saved with schedule \"", saved,
             "\", the recipe asks for \"", name(), "\"; a run cannot change its schedule");
  HEED_CHECK(state.contains("t") && state.at("t").is_number_integer() && state.at("t") >= 0,
             "schedule: the saved state has no step count \"t\": ", state.dump());
  if (plateau_) plateau_->load_state_dict(state.at("plateau"));
  t_ = state.at("t").get<int64_t>();
  apply();
}

std::string LRScheduler::repr() const {
  std::ostringstream out;
  out << "LRScheduler(interval=" << (interval_ == Interval::Step ? "step" : "epoch");
  if (schedule_) out << ", " << schedule_->repr();
  if (plateau_) out << ", " << plateau_->repr();
  out << ")";
  return out.str();
}

}  // namespace heed::optim
