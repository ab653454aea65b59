#include "optim/plateau.h"

#include <algorithm>
#include <sstream>

#include "framework/error.h"

namespace heed::optim {

ReduceLROnPlateau::ReduceLROnPlateau(ReduceLROnPlateauOptions options, size_t num_groups)
    : o_(std::move(options)), scales_(num_groups, 1.0) {
  HEED_CHECK(o_.factor > 0 && o_.factor < 1,
             "ReduceLROnPlateau: factor should be < 1.0 and > 0, got ", o_.factor);
  HEED_CHECK(o_.mode == "min" || o_.mode == "max", "ReduceLROnPlateau: mode ", o_.mode,
             " is unknown (valid: min, max)");
  HEED_CHECK(o_.threshold_mode == "rel" || o_.threshold_mode == "abs",
             "ReduceLROnPlateau: threshold mode ", o_.threshold_mode,
             " is unknown (valid: rel, abs)");
  HEED_CHECK(o_.patience >= 0 && o_.cooldown >= 0 && o_.min_lr >= 0 && o_.threshold >= 0,
             "ReduceLROnPlateau: patience, cooldown, threshold and min_lr must be >= 0, got ",
             o_.patience, ", ", o_.cooldown, ", ", o_.threshold, ", ", o_.min_lr);
}

bool ReduceLROnPlateau::is_better(double v) const {
  if (!has_best_) return true;  // best starts at inf (min) or -inf (max)
  const bool rel = o_.threshold_mode == "rel";
  if (o_.mode == "min") return rel ? v < best_ * (1 - o_.threshold) : v < best_ - o_.threshold;
  return rel ? v > best_ * (o_.threshold + 1) : v > best_ + o_.threshold;
}

void ReduceLROnPlateau::step(double metric, const std::vector<double>& lrs) {
  HEED_CHECK(lrs.size() == scales_.size(), "ReduceLROnPlateau: got ", lrs.size(),
             " learning rates for ", scales_.size(), " groups");
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    has_best_ = true;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > o_.patience) {
    for (size_t g = 0; g < scales_.size(); ++g) {
      const double new_lr = std::max(lrs[g] * o_.factor, o_.min_lr);
      if (lrs[g] - new_lr > o_.eps) scales_[g] *= o_.factor;
    }
    cooldown_counter_ = o_.cooldown;
    num_bad_epochs_ = 0;
  }
}

double ReduceLROnPlateau::lr(size_t group, double scheduled) const {
  const double scale = scales_.at(group);
  return scale < 1 ? std::max(scheduled * scale, o_.min_lr) : scheduled;
}

nlohmann::json ReduceLROnPlateau::state_dict() const {
  return {{"best", has_best_ ? nlohmann::json(best_) : nlohmann::json()},
          {"num_bad_epochs", num_bad_epochs_},
          {"cooldown_counter", cooldown_counter_},
          {"last_epoch", last_epoch_},
          {"scales", scales_}};
}

void ReduceLROnPlateau::load_state_dict(const nlohmann::json& s) {
  try {
    const auto scales = s.at("scales").get<std::vector<double>>();
    HEED_CHECK(scales.size() == scales_.size(), "ReduceLROnPlateau: the state has ", scales.size(),
               " groups, the optimizer ", scales_.size());
    has_best_ = !s.at("best").is_null();
    best_ = has_best_ ? s.at("best").get<double>() : 0;
    num_bad_epochs_ = s.at("num_bad_epochs").get<int64_t>();
    cooldown_counter_ = s.at("cooldown_counter").get<int64_t>();
    last_epoch_ = s.at("last_epoch").get<int64_t>();
    scales_ = scales;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("ReduceLROnPlateau: bad state: ") + e.what());
  }
}

std::string ReduceLROnPlateau::repr() const {
  std::ostringstream out;
  out << "ReduceLROnPlateau(metric=" << o_.metric << ", mode=" << o_.mode
      << ", factor=" << o_.factor << ", patience=" << o_.patience << ", threshold=" << o_.threshold
      << ", threshold_mode=" << o_.threshold_mode << ", cooldown=" << o_.cooldown
      << ", min_lr=" << o_.min_lr << ")";
  return out.str();
}

}  // namespace heed::optim
