#include "optim/early_stopping.h"

#include "framework/error.h"

namespace heed::optim {

EarlyStopping::EarlyStopping(EarlyStoppingOptions options) : o_(std::move(options)) {
  HEED_CHECK(o_.mode == "min" || o_.mode == "max", "EarlyStopping: mode ", o_.mode,
             " is unknown (valid: min, max)");
  HEED_CHECK(o_.patience >= 1, "EarlyStopping: patience must be at least 1, got ", o_.patience);
  HEED_CHECK(o_.min_delta >= 0, "EarlyStopping: min_delta must be >= 0, got ", o_.min_delta);
}

bool EarlyStopping::step(const nlohmann::json& metrics) {
  if (!metrics.contains(o_.metric) || !metrics.at(o_.metric).is_number()) {
    std::string available;
    for (const auto& [key, value] : metrics.items())
      if (value.is_number()) available += (available.empty() ? "" : ", ") + key;
    throw Error("early_stopping: the evaluation has no metric \"" + o_.metric +
                "\" (available: " + available + ")");
  }
  const double v = metrics.at(o_.metric).get<double>();
  improved_ =
      !has_best_ || (o_.mode == "min" ? v < best_ - o_.min_delta : v > best_ + o_.min_delta);
  if (improved_) {
    best_ = v;
    has_best_ = true;
    bad_ = 0;
  } else {
    ++bad_;
  }
  return bad_ >= o_.patience;
}

nlohmann::json EarlyStopping::state_dict() const {
  return {{"metric", o_.metric},
          {"best", has_best_ ? nlohmann::json(best_) : nlohmann::json()},
          {"bad_evaluations", bad_}};
}

void EarlyStopping::load_state_dict(const nlohmann::json& s) {
  try {
    const std::string metric = s.at("metric").get<std::string>();
    HEED_CHECK(metric == o_.metric, "early_stopping: the checkpoint watched metric \"", metric,
               "\", the recipe asks for \"", o_.metric, "\"");
    has_best_ = !s.at("best").is_null();
    best_ = has_best_ ? s.at("best").get<double>() : 0;
    bad_ = s.at("bad_evaluations").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("early_stopping: bad state: ") + e.what());
  }
}

}  // namespace heed::optim
