#pragma once
// The statistics of a study's report (`heed compare`): the mean and spread of a metric over
// seeds, and confidence intervals for the mean of paired differences against a baseline.
//
// Two intervals, because each fails differently with the 3-5 seeds a study affords: Student's t
// assumes the differences are normal, and the percentile bootstrap (Efron & Tibshirani 1993,
// ch. 13) assumes nothing but is too narrow for so few values (it can never reach beyond the
// values seen). A report shows both and says when the number of seeds is too small for either.
//
//   const std::vector<double> diff = {0.012, 0.020, 0.007};   // variant - baseline, per seed
//   const stats::Interval t = stats::t_interval(diff, 0.95);  // mean +- t_{0.975, 2} sd / sqrt(3)

#include <cstdint>
#include <vector>

namespace heed::stats {

/// Mean and sample standard deviation (divisor n - 1; 0 for one value). Throws heed::Error on an
/// empty list.
struct Summary {
  int64_t n = 0;
  double mean = 0, sd = 0;
};
Summary summarize(const std::vector<double>& x);

/// A two-sided interval [lo, hi].
struct Interval {
  double lo = 0, hi = 0;
  bool excludes_zero() const { return lo > 0 || hi < 0; }
};

/// The quantile function (inverse CDF) of Student's t distribution with `df` > 0 degrees of
/// freedom, at probability `p` in (0, 1): t_{0.975, 2} = 4.303. Throws heed::Error outside those
/// ranges.
double student_t_quantile(double p, double df);

/// The `level` (in (0, 1)) interval of the mean of `x` by Student's t: mean +- t_{(1+level)/2,
/// n-1} sd / sqrt(n). Throws heed::Error for fewer than 2 values.
Interval t_interval(const std::vector<double>& x, double level);

/// The percentile bootstrap interval of the mean of `x`: the (1-level)/2 and (1+level)/2
/// quantiles of the means of `resamples` resamples drawn with replacement by a generator seeded
/// with `seed` (so a report is the same each time it is made). Throws heed::Error for an empty
/// `x` or no resamples.
Interval bootstrap_interval(const std::vector<double>& x, double level, int64_t resamples,
                            uint64_t seed);

}  // namespace heed::stats
