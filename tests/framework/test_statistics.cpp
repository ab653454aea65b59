// The statistics of a study's report (framework/statistics.h) against SciPy 1.10 (Debian 12's
// python3-scipy): every expected value below was printed by
//   /usr/bin/python3 -c "from scipy import stats; print(repr(stats.t.ppf(0.975, 4)))"
// and the like, as its comment says.

#include "framework/statistics.h"

#include <doctest/doctest.h>

#include <cmath>

#include "framework/error.h"

using namespace heed;

TEST_CASE("Student's t quantiles equal SciPy's stats.t.ppf") {
  struct Case {
    double p, df, expected;
  };
  const Case cases[] = {
      {0.975, 1, 12.706204736432095},   {0.975, 2, 4.302652729911275},
      {0.975, 3, 3.182446305284263},    {0.975, 4, 2.7764451051977987},
      {0.975, 9, 2.2621571627409915},   {0.975, 29, 2.045229642132703},
      {0.975, 100, 1.9839715184496334}, {0.995, 1, 63.65674116287399},
      {0.995, 2, 9.92484320091807},     {0.995, 9, 3.2498355440153697},
      {0.01, 7, -2.9979515668685286},   {0.5, 3, 0.0},
  };
  for (const Case& c : cases) {
    CAPTURE(c.p);
    CAPTURE(c.df);
    // 1e-8: SciPy's ppf itself is that far off in the far tail (at p 0.995, df 9 its value's
    // CDF, by SciPy's own betainc, is 0.995 + 2e-11: 2.4e-9 in t).
    CHECK(stats::student_t_quantile(c.p, c.df) == doctest::Approx(c.expected).epsilon(1e-8));
  }
  CHECK_THROWS_WITH(stats::student_t_quantile(1.0, 3), doctest::Contains("p must be in (0, 1)"));
  CHECK_THROWS_WITH(stats::student_t_quantile(0.9, 0), doctest::Contains("df must be > 0"));
}

TEST_CASE("the t interval of a mean equals SciPy's stats.t.interval") {
  // stats.t.interval(0.95, 4, loc=x.mean(), scale=stats.sem(x)) for x = [1, 2, 3, 4, 5]
  const stats::Interval a = stats::t_interval({1, 2, 3, 4, 5}, 0.95);
  CHECK(a.lo == doctest::Approx(1.036756838522439).epsilon(1e-12));
  CHECK(a.hi == doctest::Approx(4.9632431614775605).epsilon(1e-12));
  CHECK(a.excludes_zero());
  // Three seeds' paired differences: the interval covers zero.
  const stats::Interval b = stats::t_interval({0.012, 0.020, 0.007}, 0.95);
  CHECK(b.lo == doctest::Approx(-0.003289580331315647).epsilon(1e-10));
  CHECK(b.hi == doctest::Approx(0.029289580331315644).epsilon(1e-10));
  CHECK_FALSE(b.excludes_zero());
  CHECK(stats::summarize({0.012, 0.020, 0.007}).sd ==
        doctest::Approx(0.006557438524302001).epsilon(1e-12));  // x.std(ddof=1)
  CHECK_THROWS_WITH(stats::t_interval({1.0}, 0.95), doctest::Contains("at least 2 values"));
  CHECK_THROWS_WITH(stats::summarize({}), doctest::Contains("no values"));
}

TEST_CASE("the bootstrap interval is reproducible and lies within the values") {
  const std::vector<double> x = {0.3, 0.1, 0.4, 0.15, 0.9, 0.26};
  const stats::Interval a = stats::bootstrap_interval(x, 0.95, 10000, 1);
  const stats::Interval b = stats::bootstrap_interval(x, 0.95, 10000, 1);
  CHECK(a.lo == b.lo);
  CHECK(a.hi == b.hi);
  const stats::Summary s = stats::summarize(x);
  CHECK(a.lo < s.mean);
  CHECK(a.hi > s.mean);
  CHECK(a.lo >= 0.1);
  CHECK(a.hi <= 0.9);
  // For a sample this size, the percentile interval is close to the normal one, mean +- 1.96 se.
  const double se = s.sd / std::sqrt(6.0);
  CHECK(a.hi - a.lo == doctest::Approx(2 * 1.96 * se * std::sqrt(5.0 / 6.0)).epsilon(0.15));
  // One value: every resample is that value.
  const stats::Interval one = stats::bootstrap_interval({2.5}, 0.95, 100, 3);
  CHECK(one.lo == 2.5);
  CHECK(one.hi == 2.5);
  CHECK_THROWS_WITH(stats::bootstrap_interval({}, 0.95, 10, 1), doctest::Contains("no values"));
}
