#include "framework/progress.h"

#include <cstdio>
#include <string>

namespace heed {

namespace {
std::string clock_text(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", static_cast<long>(s / 3600),
                static_cast<long>(s / 60 % 60), static_cast<long>(s % 60));
  return buf;
}
}  // namespace

ProgressLine::ProgressLine(int64_t total, int64_t first, bool terminal, bool shown)
    : total_(total),
      first_(first),
      terminal_(terminal),
      shown_(shown),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

std::string ProgressLine::text(int64_t step, int64_t epoch, double loss,
                               double samples_per_s) const {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t done = step - first_;
  const double eta = done > 0 ? elapsed / done * (total_ - step) : 0;
  char buf[160];
  std::snprintf(buf, sizeof buf, "epoch %ld  step %ld/%ld  loss %.4f  %.0f samples/s  ETA %s",
                static_cast<long>(epoch + 1), static_cast<long>(step), static_cast<long>(total_),
                loss, samples_per_s, clock_text(eta).c_str());
  return buf;
}

void ProgressLine::update(int64_t step, int64_t epoch, double loss, double samples_per_s) {
  if (!terminal_ || !shown_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && step != total_) return;
  last_draw_ = now;
  drawn_ = true;
  std::fprintf(stderr, "\r\033[K%s", text(step, epoch, loss, samples_per_s).c_str());
  std::fflush(stderr);
}

void ProgressLine::log(int64_t step, int64_t epoch, double loss, double samples_per_s) {
  if (!terminal_ && shown_)
    std::fprintf(stderr, "%s\n", text(step, epoch, loss, samples_per_s).c_str());
}

void ProgressLine::eval(const nlohmann::json& r) {
  if (!shown_) return;
  if (terminal_ && drawn_) std::fprintf(stderr, "\r\033[K");
  std::string metrics;
  for (const auto& [k, v] : r.items())
    if (v.is_number_float()) metrics += "  " + k + " " + std::to_string(v.get<double>());
  std::fprintf(stderr, "eval %s at step %ld:%s\n", r.value("split", "test").c_str(),
               static_cast<long>(r.value("step", int64_t{0})), metrics.c_str());
  drawn_ = false;
}

void ProgressLine::finish() {
  if (terminal_ && drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

}  // namespace heed
