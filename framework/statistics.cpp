#include "framework/statistics.h"

#include <algorithm>
#include <cmath>

#include "framework/error.h"
#include "framework/random.h"

namespace heed::stats {

namespace {

// The continued fraction of the regularized incomplete beta function (modified Lentz's method,
// Numerical Recipes 3rd ed., sec. 6.4), which converges quickly for x < (a + 1) / (a + b + 2).
double beta_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-15;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
  double h = d;
  for (int m = 1; m <= 1000; ++m) {
    const double even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    const double odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
    double step = 1;
    for (const double num : {even, odd}) {
      d = 1 + num * d;
      d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
      c = 1 + num / c;
      if (std::fabs(c) < kTiny) c = kTiny;
      step = d * c;
      h *= step;
    }
    if (std::fabs(step - 1) < kEps) return h;
  }
  return h;
}

// I_x(a, b), the regularized incomplete beta function.
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
  return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

// P(T <= t) for Student's t with df degrees of freedom.
double student_t_cdf(double t, double df) {
  const double tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t));
  return t >= 0 ? 1 - tail : tail;
}

}  // namespace

Summary summarize(const std::vector<double>& x) {
  HEED_CHECK(!x.empty(), "summarize: no values");
  Summary s;
  s.n = static_cast<int64_t>(x.size());
  for (double v : x) s.mean += v;
  s.mean /= static_cast<double>(s.n);
  if (s.n > 1) {
    double squares = 0;
    for (double v : x) squares += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(squares / static_cast<double>(s.n - 1));
  }
  return s;
}

double student_t_quantile(double p, double df) {
  HEED_CHECK(p > 0 && p < 1, "student_t_quantile: p must be in (0, 1), got ", p);
  HEED_CHECK(df > 0 && std::isfinite(df), "student_t_quantile: df must be > 0, got ", df);
  if (p < 0.5) return -student_t_quantile(1 - p, df);
  // Bisection on the CDF, which is monotone: 200 halvings of [0, hi] reach double precision.
  double lo = 0, hi = 1;
  while (student_t_cdf(hi, df) < p) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-14 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_cdf(mid, df) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Interval t_interval(const std::vector<double>& x, double level) {
  HEED_CHECK(x.size() >= 2, "t_interval: needs at least 2 values, got ", x.size());
  HEED_CHECK(level > 0 && level < 1, "t_interval: level must be in (0, 1), got ", level);
  const Summary s = summarize(x);
  const double half = student_t_quantile((1 + level) / 2, static_cast<double>(s.n - 1)) * s.sd /
                      std::sqrt(static_cast<double>(s.n));
  return {s.mean - half, s.mean + half};
}

Interval bootstrap_interval(const std::vector<double>& x, double level, int64_t resamples,
                            uint64_t seed) {
  HEED_CHECK(!x.empty(), "bootstrap_interval: no values");
  HEED_CHECK(resamples > 0, "bootstrap_interval: resamples must be > 0, got ", resamples);
  HEED_CHECK(level > 0 && level < 1, "bootstrap_interval: level must be in (0, 1), got ", level);
  Generator gen(seed);
  std::vector<double> means(static_cast<size_t>(resamples));
  for (double& m : means) {
    double sum = 0;
    for (size_t i = 0; i < x.size(); ++i) sum += x[gen.below(x.size())];
    m = sum / static_cast<double>(x.size());
  }
  std::sort(means.begin(), means.end());
  // The empirical quantile at q: the value of rank ceil(q * B) (1-based), the percentile method's.
  const auto quantile = [&](double q) {
    const double rank = std::ceil(q * static_cast<double>(resamples));
    return means[static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(resamples))) - 1];
  };
  return {quantile((1 - level) / 2), quantile((1 + level) / 2)};
}

}  // namespace heed::stats
