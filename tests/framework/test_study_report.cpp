// The report of a study (framework/study_report.h) on run directories written here, whose
// numbers are chosen so that each statistic can be checked by hand: the paired t interval
// (t_{0.975, 2} = 4.302652729911275, SciPy's stats.t.ppf), the equal-epoch and equal-time views
// and their rankings, and the runs left out.

#include "framework/study_report.h"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include "framework/files.h"
#include "temp_dir.h"

using namespace heed;
using heed::testing::TempDir;

namespace {

// A run that ended: test wer `test`, dev evaluations `dev` (wer by epoch 1, 2, ...), each
// `seconds` apart.
void write_run(const std::string& dir, double test, const std::vector<double>& dev,
               double seconds) {
  std::filesystem::create_directories(dir + "/checkpoints");
  std::ofstream(dir + "/checkpoints/last.h5") << "";
  std::ofstream metrics(dir + "/metrics.jsonl");
  double best = 1;
  for (size_t i = 0; i < dev.size(); ++i) {
    const double t = seconds * static_cast<double>(i + 1);
    metrics << nlohmann::json(
                   {{"kind", "train"}, {"samples_per_s", 100.0 + static_cast<double>(i)}})
                   .dump()
            << "\n";
    metrics << nlohmann::json({{"kind", "eval"},
                               {"split", "dev"},
                               {"epoch", i + 1},
                               {"elapsed_s", t},
                               {"wer", dev[i]}})
                   .dump()
            << "\n";
    best = std::min(best, dev[i]);
  }
  const nlohmann::json summary = {
      {"status", "finished"},
      {"epochs_completed", dev.size()},
      {"elapsed_s", seconds * static_cast<double>(dev.size())},
      {"parameters", 1234},
      {"peak_rss_mib", 50.0},
      {"best_eval", {{"wer", best}}},
      {"final_eval", {{"dev", {{"wer", dev.back()}}}, {"test", {{"wer", test}}}}}};
  std::ofstream(dir + "/summary.json") << summary.dump();
}

Study two_variant_study(const TempDir& dir) {
  std::ofstream(dir.file("base.json")) << R"({"train": {"epochs": 1}})";
  std::ofstream(dir.file("s.json")) << R"({"base": "base.json", "baseline": "base",
      "variants": [{"name": "base"}, {"name": "att", "set": {"train.epochs": 2}}],
      "seeds": [1, 2, 3], "metrics": [{"name": "wer", "mode": "min"}]})";
  return load_study(dir.file("s.json"));
}

}  // namespace

TEST_CASE(
    "a study's report: means over seeds, paired intervals, equal-epoch and equal-time views") {
  TempDir dir;
  const Study study = two_variant_study(dir);
  const double base_test[] = {0.30, 0.32, 0.31}, att_test[] = {0.28, 0.30, 0.295};
  for (int s = 1; s <= 3; ++s) {
    const std::string seed = "/seed-" + std::to_string(s);
    write_run(dir.path() + "/base" + seed, base_test[s - 1], {0.40, 0.35, 0.33, 0.31}, 10);
    write_run(dir.path() + "/att" + seed, att_test[s - 1], {0.38, 0.32, 0.30}, 15);
  }
  const nlohmann::json report = write_study_report(study, dir.path());
  CHECK(report["runs_ended"] == 6);
  REQUIRE(report["points"].size() == 1);
  const nlohmann::json& point = report["points"][0];
  const nlohmann::json& first = point["variants"][0];  // ranked: att's test wer is lower
  const nlohmann::json& second = point["variants"][1];
  CHECK(first["variant"] == "att");
  CHECK(first["rank"] == 1);
  CHECK(first["test"]["wer"]["mean"].get<double>() == doctest::Approx(0.875 / 3));
  CHECK(second["test"]["wer"]["sd"].get<double>() == doctest::Approx(0.01));
  CHECK(first["dev"]["wer"]["mean"].get<double>() == doctest::Approx(0.30));  // best dev
  CHECK(first["parameters"] == 1234);
  CHECK(first["seconds_per_epoch"]["mean"].get<double>() == doctest::Approx(15));
  CHECK(first["samples_per_s"]["mean"].get<double>() == doctest::Approx(101));
  CHECK(first["peak_rss_mib"].get<double>() == 50);
  CHECK_FALSE(second.contains("vs_baseline"));

  // att - base by seed: -0.02, -0.02, -0.015; mean -0.018333, sd 0.0028868.
  const nlohmann::json& d = first["vs_baseline"]["wer"];
  CHECK(d["n"] == 3);
  CHECK(d["mean"].get<double>() == doctest::Approx(-0.055 / 3));
  const double half = 4.302652729911275 * std::sqrt(0.0000083333333333) / std::sqrt(3.0);
  CHECK(d["t_interval"][0].get<double>() == doctest::Approx(-0.055 / 3 - half).epsilon(1e-9));
  CHECK(d["t_interval"][1].get<double>() == doctest::Approx(-0.055 / 3 + half).epsilon(1e-9));
  CHECK(d["excludes_zero"] == true);
  CHECK(d["bootstrap_interval"][0].get<double>() >= -0.02 - 1e-12);
  CHECK(d["bootstrap_interval"][1].get<double>() <= -0.015 + 1e-12);

  // Equal epochs: 3 (att's last); equal time: 40 s (base's last). att leads at 3 epochs (0.30
  // against 0.33); at 40 s base has had 4 epochs (0.31) and att 2 (0.32).
  CHECK(point["equal_epochs"] == 3);
  CHECK(point["equal_seconds"] == 40);
  CHECK(first["dev_at_equal_epochs"]["wer"].get<double>() == doctest::Approx(0.30));
  CHECK(second["dev_at_equal_epochs"]["wer"].get<double>() == doctest::Approx(0.33));
  CHECK(first["dev_at_equal_time"]["wer"].get<double>() == doctest::Approx(0.32));
  CHECK(second["dev_at_equal_time"]["wer"].get<double>() == doctest::Approx(0.31));
  CHECK(first["rank_at_equal_epochs"] == 1);
  CHECK(first["rank_at_equal_time"] == 2);
  CHECK(point["rankings_differ"] == true);

  const std::string md = files::read(dir.file("report.md"));
  CHECK(md.find("| 1 | att | 3 | 0.2917 ± 0.0104 |") != std::string::npos);
  CHECK(md.find("[-0.0255, -0.0112] *") != std::string::npos);
  CHECK(md.find("rank the variants **differently**") != std::string::npos);
  CHECK(md.find("3 seeds: the t interval is wide (t = 4.30)") != std::string::npos);
  const std::string csv = files::read(dir.file("report.csv"));
  CHECK(csv.rfind("point,variant,rank,seeds,test_wer_mean,test_wer_sd,", 0) == 0);
  CHECK(csv.find("\n,att,1,3,0.291667,") != std::string::npos);
  CHECK(nlohmann::json::parse(files::read(dir.file("report.json"))) == report);
  const std::string html = files::read(dir.file("report.html"));
  CHECK(html.find("<tr><td>1</td><td>att</td><td>3</td><td>0.2917 ± 0.0104</td>") !=
        std::string::npos);
  CHECK(html.find("<strong>differently</strong>") != std::string::npos);

  // Plots in plots/ (tools/plot_study.py's) are linked from report.md and inlined in report.html.
  std::filesystem::create_directories(dir.file("plots"));
  std::ofstream(dir.file("plots/b.png")) << "ab";
  std::ofstream(dir.file("plots/a.png")) << "abc";
  write_study_report(study, dir.path());
  const std::string with_plots = files::read(dir.file("report.md"));
  CHECK(with_plots.find("![a](plots/a.png)\n\n![b](plots/b.png)") != std::string::npos);
  const std::string inlined = files::read(dir.file("report.html"));
  CHECK(inlined.find("<img alt=\"a\" src=\"data:image/png;base64,YWJj\">") != std::string::npos);
  CHECK(inlined.find("src=\"data:image/png;base64,YWI=\">") != std::string::npos);
}

TEST_CASE("a study's report leaves out runs that have not ended, and says so") {
  TempDir dir;
  const Study study = two_variant_study(dir);
  write_run(dir.path() + "/base/seed-1", 0.3, {0.4}, 10);
  write_run(dir.path() + "/att/seed-1", 0.2, {0.3}, 10);
  write_run(dir.path() + "/att/seed-2", 0.2, {0.3}, 10);
  std::ofstream(dir.path() + "/att/seed-2/summary.json") << R"({"status": "interrupted"})";
  const nlohmann::json report = write_study_report(study, dir.path());
  CHECK(report["runs_ended"] == 2);
  CHECK(report["missing"].size() == 4);
  const nlohmann::json& att = report["points"][0]["variants"][0];
  CHECK(att["n"] == 1);
  CHECK(att["vs_baseline"]["wer"]["n"] == 1);
  CHECK_FALSE(att["vs_baseline"]["wer"].contains("t_interval"));
  const std::string md = files::read(dir.file("report.md"));
  CHECK(md.find("not ended, left out: `att/seed-2`") != std::string::npos);
  CHECK(md.find("one seed: no interval") != std::string::npos);

  std::ofstream(dir.path() + "/base/seed-1/metrics.jsonl") << "{\"kind\": \n";
  CHECK_THROWS_WITH(write_study_report(study, dir.path()),
                    doctest::Contains("base/seed-1/metrics.jsonl:1: corrupt JSON"));
}

TEST_CASE("a study's report: the erasure test of runs that have one, over seeds") {
  TempDir dir;
  const Study study = two_variant_study(dir);
  for (int s = 1; s <= 3; ++s) {
    const std::string seed = "/seed-" + std::to_string(s);
    write_run(dir.path() + "/base" + seed, 0.3, {0.4}, 10);
    write_run(dir.path() + "/att" + seed, 0.2, {0.3}, 10);
    // Only att has decoder attention to erase by.
    std::ofstream(dir.path() + "/att" + seed + "/erasure_dev.json")
        << nlohmann::json{{"examples", 100},
                          {"steps", 700},
                          {"top", {{"delta_log_prob", -2.0 - s}, {"prediction_changed", 0.5}}},
                          {"random", {{"delta_log_prob", -0.5}, {"prediction_changed", 0.1}}},
                          {"top_hurts_more", 0.9}};
  }
  const nlohmann::json report = write_study_report(study, dir.path());
  const nlohmann::json& att = report["points"][0]["variants"][0];
  REQUIRE(att["variant"] == "att");
  CHECK(att["erasure"]["examples"] == 100);
  CHECK(att["erasure"]["top_delta_log_prob"]["mean"].get<double>() == doctest::Approx(-4));
  CHECK(att["erasure"]["top_delta_log_prob"]["sd"].get<double>() == doctest::Approx(1));
  CHECK(att["erasure"]["top_hurts_more"]["mean"].get<double>() == doctest::Approx(0.9));
  CHECK(report["points"][0]["variants"][1]["erasure"].is_null());
  const std::string md = files::read(dir.file("report.md"));
  CHECK(md.find("## Does the attention explain the prediction?") != std::string::npos);
  CHECK(md.find("| att | 100 | 1 input position per output step | -4.000 ± 1.000 | -0.500 ± 0.000 "
                "| 0.500 ± 0.000 | "
                "0.100 ± 0.000 | 0.900 ± 0.000 |") != std::string::npos);
  CHECK(md.find("| base | 100 |") == std::string::npos);
}
