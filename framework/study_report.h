#pragma once
// The report of a study (`heed compare`): report.json, report.csv and report.md in the study's
// directory, from the run directories alone (summary.json and metrics.jsonl), so it can be made
// again at any time.
//
// For each grid point, one row per variant, ranked by the first metric:
// - each metric on test (the evaluation at the dev-selected checkpoint, train.test_checkpoint)
//   and on dev (the dev-selected evaluation), mean +- sample standard deviation over seeds;
// - parameters, training time (seconds, evaluations included), throughput (training samples/s,
//   the mean of the logged windows), time per epoch (seconds), peak resident memory (MiB);
// - against the baseline, the test metric's difference paired by seed (variant - baseline, so
//   negative is better for a "min" metric) with a 95% Student t interval and a 95% percentile
//   bootstrap interval (framework/statistics.h), marked where the t interval excludes zero;
// - the dev metric read at equal epochs (each run's first dev evaluation after the fewest epochs
//   any run of the point completed) and at equal wall time (each run's last dev evaluation at or
//   before the shortest run's last one), with each view's ranking and whether the two differ.
//
// A run that has not ended is left out of the numbers and listed as missing.

#include <nlohmann/json.hpp>
#include <string>

#include "framework/study.h"

namespace heed {

/// The dev evaluation a run's model selection chose, from its summary.json: `best_eval` with
/// early stopping, else the last dev evaluation (null when there is none).
nlohmann::json selected_dev(const nlohmann::json& summary);

/// Reads the runs of `study` under `dir`, writes `dir`/report.json, report.csv and report.md
/// (each atomically) and returns report.json's content. Throws heed::Error naming the file when a
/// run's summary.json or metrics.jsonl is corrupt.
nlohmann::json write_study_report(const Study& study, const std::string& dir);

}  // namespace heed
