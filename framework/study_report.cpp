#include "framework/study_report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <map>
#include <optional>
#include <sstream>

#include "framework/error.h"
#include "framework/files.h"
#include "framework/run_dir.h"
#include "framework/statistics.h"

namespace heed {

namespace fs = std::filesystem;

namespace {

constexpr double kLevel = 0.95;
constexpr int64_t kResamples = 10000;

// What the report reads of one run that ended.
struct RunRecord {
  const StudyRun* run;
  nlohmann::json summary;
  std::vector<nlohmann::json> dev_curve;  // the dev evaluations, in order
  double samples_per_s = 0;               // the mean of the train lines' samples_per_s
  nlohmann::json erasure;                 // erasure_dev.json (framework/erasure.h), or null
};

RunRecord read_run(const StudyRun& run, const fs::path& dir) {
  RunRecord r{&run, read_run_json((dir / "summary.json").string()), {}, 0, nullptr};
  if (fs::exists(dir / "erasure_dev.json"))
    r.erasure = read_run_json((dir / "erasure_dev.json").string());
  std::istringstream lines(files::read((dir / "metrics.jsonl").string(), "run file"));
  std::string line;
  double rate_sum = 0;
  int64_t rates = 0, number = 0;
  while (std::getline(lines, line)) {
    ++number;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error((dir / "metrics.jsonl").string() + ":" + std::to_string(number) +
                  ": corrupt JSON (" + e.what() + ")");
    }
    const std::string kind = j.value("kind", "");
    if (kind == "eval" && j.value("split", "") == "dev") r.dev_curve.push_back(j);
    if (kind == "train" && j.contains("samples_per_s") && j["samples_per_s"].is_number())
      rate_sum += j["samples_per_s"].get<double>(), ++rates;
  }
  r.samples_per_s = rates > 0 ? rate_sum / static_cast<double>(rates) : 0;
  return r;
}

// The number `key` of `j`, if it holds one.
std::optional<double> number(const nlohmann::json& j, const std::string& key) {
  if (j.is_object() && j.contains(key) && j[key].is_number()) return j[key].get<double>();
  return std::nullopt;
}

nlohmann::json test_eval(const nlohmann::json& summary) {
  return summary.value("final_eval", nlohmann::json::object()).value("test", nlohmann::json());
}

// {"mean", "sd", "n", "values"} of the values, or null when there are none.
nlohmann::json described(const std::vector<double>& values) {
  if (values.empty()) return nullptr;
  const stats::Summary s = stats::summarize(values);
  nlohmann::json d = {{"mean", s.mean}, {"sd", s.sd}, {"n", s.n}, {"values", values}};
  if (values.size() >= 2) {
    const stats::Interval t = stats::t_interval(values, kLevel);
    d["t_interval"] = {t.lo, t.hi};
  }
  return d;
}

// The dev evaluation each view reads of a run: the first after `epochs` epochs, the last at or
// before `seconds`.
const nlohmann::json* at_epochs(const RunRecord& r, double epochs) {
  for (const nlohmann::json& e : r.dev_curve)
    if (number(e, "epoch").value_or(-1) >= epochs) return &e;
  return nullptr;
}
const nlohmann::json* at_seconds(const RunRecord& r, double seconds) {
  const nlohmann::json* found = nullptr;
  for (const nlohmann::json& e : r.dev_curve)
    if (number(e, "elapsed_s").value_or(1e300) <= seconds) found = &e;
  return found;
}

// The ranks (1 = best) of `means` (nullopt: unranked, last) by `higher_is_better`.
std::vector<int64_t> ranks(const std::vector<std::optional<double>>& means, bool higher_is_better) {
  std::vector<size_t> order(means.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (!means[a] || !means[b]) return means[a].has_value() && !means[b].has_value();
    return higher_is_better ? *means[a] > *means[b] : *means[a] < *means[b];
  });
  std::vector<int64_t> rank(means.size());
  for (size_t i = 0; i < order.size(); ++i) rank[order[i]] = static_cast<int64_t>(i + 1);
  return rank;
}

// The mean of `metric` over the evaluations that `view` picks of each run, or nullopt.
template <class View>
std::optional<double> view_mean(const std::vector<const RunRecord*>& runs,
                                const std::string& metric, View view) {
  std::vector<double> values;
  for (const RunRecord* r : runs)
    if (const nlohmann::json* e = view(*r))
      if (const auto v = number(*e, metric)) values.push_back(*v);
  if (values.empty()) return std::nullopt;
  return stats::summarize(values).mean;
}

// The paired difference of `metric` on test against the baseline, seed by seed.
nlohmann::json against(const std::vector<const RunRecord*>& variant,
                       const std::vector<const RunRecord*>& baseline, const std::string& metric,
                       uint64_t seed) {
  std::vector<double> diffs;
  std::vector<int64_t> seeds;
  for (const RunRecord* v : variant)
    for (const RunRecord* b : baseline)
      if (v->run->seed == b->run->seed) {
        const auto x = number(test_eval(v->summary), metric);
        const auto y = number(test_eval(b->summary), metric);
        if (x && y) diffs.push_back(*x - *y), seeds.push_back(v->run->seed);
      }
  nlohmann::json out = {{"n", diffs.size()}, {"seeds", seeds}, {"differences", diffs}};
  if (diffs.empty()) return out;
  out["mean"] = stats::summarize(diffs).mean;
  if (diffs.size() >= 2) {
    const stats::Interval t = stats::t_interval(diffs, kLevel);
    const stats::Interval b = stats::bootstrap_interval(diffs, kLevel, kResamples, seed);
    out["t_interval"] = {t.lo, t.hi};
    out["bootstrap_interval"] = {b.lo, b.hi};
    out["excludes_zero"] = t.excludes_zero();
  }
  return out;
}

// The erasure test of the runs that have one, each number described over seeds; null if none.
nlohmann::json erasure_summary(const std::vector<const RunRecord*>& runs) {
  static const std::vector<std::pair<const char*, nlohmann::json::json_pointer>> kFields = {
      {"top_delta_log_prob", "/top/delta_log_prob"_json_pointer},
      {"random_delta_log_prob", "/random/delta_log_prob"_json_pointer},
      {"top_prediction_changed", "/top/prediction_changed"_json_pointer},
      {"random_prediction_changed", "/random/prediction_changed"_json_pointer},
      {"top_hurts_more", "/top_hurts_more"_json_pointer}};
  nlohmann::json out = nullptr;
  for (const auto& [name, pointer] : kFields) {
    std::vector<double> values;
    for (const RunRecord* r : runs)
      if (r->erasure.is_object() && r->erasure.contains(pointer) &&
          r->erasure[pointer].is_number()) {
        values.push_back(r->erasure[pointer].get<double>());
        out["examples"] = r->erasure.value("examples", int64_t{0});
        out["erased"] = r->erasure.value("erased", "1 input position per output step");
      }
    if (!values.empty()) out[name] = described(values);
  }
  return out;
}

nlohmann::json variant_row(const StudyVariant& v, const std::vector<const RunRecord*>& runs,
                           const Study& study) {
  nlohmann::json row = {{"variant", v.name}, {"n", runs.size()}};
  std::vector<int64_t> seeds;
  std::vector<double> elapsed, rates, per_epoch, rss;
  for (const RunRecord* r : runs) {
    seeds.push_back(r->run->seed);
    elapsed.push_back(number(r->summary, "elapsed_s").value_or(0));
    rates.push_back(r->samples_per_s);
    const double epochs = number(r->summary, "epochs_completed").value_or(0);
    if (epochs > 0) per_epoch.push_back(elapsed.back() / epochs);
    if (const auto m = number(r->summary, "peak_rss_mib")) rss.push_back(*m);
    row["parameters"] = r->summary.value("parameters", int64_t{0});
  }
  row["seeds"] = seeds;
  row["elapsed_s"] = described(elapsed);
  row["samples_per_s"] = described(rates);
  row["seconds_per_epoch"] = described(per_epoch);
  row["peak_rss_mib"] = rss.empty() ? nlohmann::json(nullptr)
                                    : nlohmann::json(*std::max_element(rss.begin(), rss.end()));
  row["erasure"] = erasure_summary(runs);
  for (const StudyMetric& m : study.metrics) {
    std::vector<double> test, dev;
    for (const RunRecord* r : runs) {
      if (const auto x = number(test_eval(r->summary), m.name)) test.push_back(*x);
      if (const auto x = number(selected_dev(r->summary), m.name)) dev.push_back(*x);
    }
    row["test"][m.name] = described(test);
    row["dev"][m.name] = described(dev);
  }
  return row;
}

// One grid point's part of the report.
nlohmann::json point_report(
    const Study& study, const GridPoint& point,
    const std::map<std::string, std::vector<const RunRecord*>>& by_variant) {
  const StudyMetric& first = study.metrics.front();
  double epochs = 1e300, seconds = 1e300;
  for (const auto& [name, runs] : by_variant)
    for (const RunRecord* r : runs)
      if (!r->dev_curve.empty()) {
        epochs = std::min(epochs, number(r->dev_curve.back(), "epoch").value_or(0));
        seconds = std::min(seconds, number(r->dev_curve.back(), "elapsed_s").value_or(0));
      }
  const bool has_curves = epochs < 1e300;
  nlohmann::json out = {
      {"point", point.label}, {"set", point.set}, {"variants", nlohmann::json::array()}};
  out["equal_epochs"] = has_curves ? nlohmann::json(epochs) : nlohmann::json(nullptr);
  out["equal_seconds"] = has_curves ? nlohmann::json(seconds) : nlohmann::json(nullptr);
  std::vector<std::optional<double>> final_means, epoch_means, time_means;
  const std::vector<const RunRecord*> none;
  const auto runs_of = [&](const std::string& name) -> const std::vector<const RunRecord*>& {
    const auto it = by_variant.find(name);
    return it == by_variant.end() ? none : it->second;
  };
  uint64_t seed = 1;
  for (const StudyVariant& v : study.variants) {
    const std::vector<const RunRecord*>& runs = runs_of(v.name);
    nlohmann::json row = variant_row(v, runs, study);
    for (const StudyMetric& m : study.metrics) {
      const auto epoch_view = [&](const RunRecord& r) { return at_epochs(r, epochs); };
      const auto time_view = [&](const RunRecord& r) { return at_seconds(r, seconds); };
      const auto e = has_curves ? view_mean(runs, m.name, epoch_view) : std::nullopt;
      const auto t = has_curves ? view_mean(runs, m.name, time_view) : std::nullopt;
      row["dev_at_equal_epochs"][m.name] = e ? nlohmann::json(*e) : nlohmann::json(nullptr);
      row["dev_at_equal_time"][m.name] = t ? nlohmann::json(*t) : nlohmann::json(nullptr);
      if (&m == &first) epoch_means.push_back(e), time_means.push_back(t);
      if (v.name != study.baseline)
        row["vs_baseline"][m.name] = against(runs, runs_of(study.baseline), m.name, seed++);
    }
    const nlohmann::json& test = row["test"][first.name];
    final_means.push_back(test.is_null() ? std::nullopt
                                         : std::optional<double>(test["mean"].get<double>()));
    out["variants"].push_back(row);
  }
  const std::vector<int64_t> rank = ranks(final_means, first.higher_is_better);
  const std::vector<int64_t> rank_e = ranks(epoch_means, first.higher_is_better);
  const std::vector<int64_t> rank_t = ranks(time_means, first.higher_is_better);
  for (size_t i = 0; i < rank.size(); ++i) {
    out["variants"][i]["rank"] = rank[i];
    out["variants"][i]["rank_at_equal_epochs"] = rank_e[i];
    out["variants"][i]["rank_at_equal_time"] = rank_t[i];
  }
  out["rankings_differ"] = rank_e != rank_t;
  std::vector<nlohmann::json> rows = out["variants"].get<std::vector<nlohmann::json>>();
  std::stable_sort(rows.begin(), rows.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a["rank"].get<int64_t>() < b["rank"].get<int64_t>();
  });
  out["variants"] = rows;
  return out;
}

// ---- text: the numbers as report.md and report.csv print them ----

std::string fixed(double v, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << v;
  return out.str();
}

// "0.2852 ± 0.0041" (4 decimals: metrics are fractions or bits), "(none)" for null.
std::string mean_sd(const nlohmann::json& d, int digits = 4) {
  if (d.is_null()) return "(none)";
  return fixed(d["mean"].get<double>(), digits) + " ± " + fixed(d["sd"].get<double>(), digits);
}

std::string interval(const nlohmann::json& v, const char* key) {
  if (!v.contains(key)) return "";
  std::ostringstream
      out;  // not "[" + a + ", " + b: GCC 12 warns about it (-Wrestrict, a false positive)
  out << "[" << fixed(v[key][0].get<double>(), 4) << ", " << fixed(v[key][1].get<double>(), 4)
      << "]";
  return out.str();
}

std::string seeds_note(size_t n) {
  if (n < 2) return "one seed: no interval; run the study with more seeds";
  if (n < 5)
    return std::to_string(n) + " seeds: the t interval is wide (t = " +
           fixed(stats::student_t_quantile(0.975, static_cast<double>(n - 1)), 2) +
           ") and the bootstrap interval too narrow with so few values; read them as a rough "
           "guide, and add seeds before claiming a difference";
  return "";
}

// The PNG files in `dir`/plots (tools/plot_study.py's), as paths relative to `dir`, sorted.
std::vector<std::string> plot_files(const fs::path& dir) {
  std::vector<std::string> out;
  if (fs::is_directory(dir / "plots"))
    for (const auto& e : fs::directory_iterator(dir / "plots"))
      if (e.path().extension() == ".png") out.push_back("plots/" + e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The erasure test's table, one row per variant and grid point that has one.
void erasure_markdown(std::ostream& md, const nlohmann::json& report) {
  std::ostringstream rows;
  for (const nlohmann::json& point : report["points"])
    for (const nlohmann::json& v : point["variants"]) {
      const nlohmann::json& e = v["erasure"];
      if (!e.is_object()) continue;
      rows << "| " << v["variant"].get<std::string>()
           << (point["point"].get<std::string>().empty()
                   ? ""
                   : " (" + point["point"].get<std::string>() + ")")
           << " | " << e.value("examples", int64_t{0}) << " | " << e.value("erased", "") << " | "
           << mean_sd(e.value("top_delta_log_prob", nlohmann::json()), 3) << " | "
           << mean_sd(e.value("random_delta_log_prob", nlohmann::json()), 3) << " | "
           << mean_sd(e.value("top_prediction_changed", nlohmann::json()), 3) << " | "
           << mean_sd(e.value("random_prediction_changed", nlohmann::json()), 3) << " | "
           << mean_sd(e.value("top_hurts_more", nlohmann::json()), 3) << " |\n";
    }
  if (rows.str().empty()) return;
  md << "\n## Does the attention explain the prediction?\n\n"
     << "An erasure test on the dev split's first examples (framework/erasure.h; Serrano & "
        "Smith 2019): the input positions the model attends to most, or as many random others, "
        "erased (a token read as `<unk>`, a feature row as zeros). A seq2seq model is tested "
        "step by step: at each output step of its own greedy output, the one position its "
        "decoder attends to most. A classifier loses at once the k positions that receive the "
        "most attention over all its attention layers, heads and queries. Then the change in "
        "log p of the model's own prediction (nats per output step or per example; negative: "
        "it fell), the share of predictions that change, and the share of examples where the "
        "most-attended erasures hurt more than the random ones. Mean +- sd over seeds, with the "
        "dev-selected weights.\n\n"
     << "| variant | examples | erased | most attended: delta log p | random: delta log p | "
        "most attended: prediction changed | random: prediction changed | most attended hurts "
        "more |\n"
     << "|---|---|---|---|---|---|---|---|\n"
     << rows.str();
}

std::string markdown(const nlohmann::json& report, const Study& study,
                     const std::vector<std::string>& plots) {
  std::ostringstream md;
  md << "# Study " << study.path << "\n\n";
  if (!study.description.empty()) md << study.description << "\n\n";
  md << "Seeds:";
  for (int64_t s : study.seeds) md << " " << s;
  md << " (train.seed: initialization, data order and dropout). Baseline: `" << study.baseline
     << "`. Metrics:";
  for (size_t i = 0; i < study.metrics.size(); ++i)
    md << (i ? ", " : " ") << study.metrics[i].name << " ("
       << (study.metrics[i].higher_is_better ? "higher" : "lower") << " is better)";
  md << ". Runs ended: " << report["runs_ended"].get<int64_t>() << " of "
     << report["runs"].get<int64_t>() << ".\n";
  for (const nlohmann::json& missing : report["missing"])
    md << "- not ended, left out: `" << missing.get<std::string>() << "`\n";
  const std::string m0 = study.metrics.front().name;
  for (const nlohmann::json& point : report["points"]) {
    md << "\n## "
       << (point["point"].get<std::string>().empty() ? "Results"
                                                     : point["point"].get<std::string>())
       << "\n\n";
    md << "| rank | variant | seeds |";
    for (const StudyMetric& m : study.metrics)
      md << " test " << m.name << " | dev " << m.name << " |";
    md << " parameters | time (s) | samples/s | s/epoch | peak MiB |\n|---|---|---|";
    for (size_t i = 0; i < study.metrics.size(); ++i) md << "---|---|";
    md << "---|---|---|---|---|\n";
    for (const nlohmann::json& v : point["variants"]) {
      md << "| " << v["rank"].get<int64_t>() << " | " << v["variant"].get<std::string>() << " | "
         << v["n"].get<int64_t>() << " |";
      for (const StudyMetric& m : study.metrics)
        md << " " << mean_sd(v["test"][m.name]) << " | " << mean_sd(v["dev"][m.name]) << " |";
      md << " " << v.value("parameters", int64_t{0}) << " | " << mean_sd(v["elapsed_s"], 0) << " | "
         << mean_sd(v["samples_per_s"], 0) << " | " << mean_sd(v["seconds_per_epoch"], 1) << " | "
         << (v["peak_rss_mib"].is_null() ? "" : fixed(v["peak_rss_mib"].get<double>(), 0))
         << " |\n";
    }
    md << "\nAgainst `" << study.baseline << "` (test " << m0
       << ", variant - baseline, paired by seed; * where the 95% t interval excludes zero):\n\n"
       << "| variant | n | mean difference | 95% t interval | 95% bootstrap interval |\n"
       << "|---|---|---|---|---|\n";
    size_t n_min = study.seeds.size();
    for (const nlohmann::json& v : point["variants"]) {
      if (!v.contains("vs_baseline")) continue;
      const nlohmann::json& d = v["vs_baseline"][m0];
      n_min = std::min(n_min, static_cast<size_t>(d["n"].get<int64_t>()));
      md << "| " << v["variant"].get<std::string>() << " | " << d["n"].get<int64_t>() << " | "
         << (d.contains("mean") ? fixed(d["mean"].get<double>(), 4) : "(none)") << " | "
         << interval(d, "t_interval") << (d.value("excludes_zero", false) ? " *" : "") << " | "
         << interval(d, "bootstrap_interval") << " |\n";
    }
    if (const std::string note = seeds_note(n_min); !note.empty()) md << "\n" << note << ".\n";
    if (!point["equal_epochs"].is_null()) {
      md << "\nDev " << m0 << " at equal epochs (" << fixed(point["equal_epochs"].get<double>(), 0)
         << ", the fewest any run completed) and at equal wall time ("
         << fixed(point["equal_seconds"].get<double>(), 0)
         << " s, the shortest run's last evaluation), mean over seeds:\n\n"
         << "| variant | at equal epochs | rank | at equal time | rank |\n|---|---|---|---|---|\n";
      for (const nlohmann::json& v : point["variants"]) {
        const auto shown = [](const nlohmann::json& x) {
          return x.is_null() ? std::string("(none)") : fixed(x.get<double>(), 4);
        };
        md << "| " << v["variant"].get<std::string>() << " | "
           << shown(v["dev_at_equal_epochs"][m0]) << " | "
           << v["rank_at_equal_epochs"].get<int64_t>() << " | " << shown(v["dev_at_equal_time"][m0])
           << " | " << v["rank_at_equal_time"].get<int64_t>() << " |\n";
      }
      md << "\nThe two views rank the variants "
         << (point["rankings_differ"].get<bool>() ? "**differently**" : "the same") << ".\n";
    }
  }
  erasure_markdown(md, report);
  if (!plots.empty()) md << "\n## Plots\n\n";
  for (const std::string& p : plots)
    md << "![" << fs::path(p).stem().string() << "](" << p << ")\n\n";
  return md.str();
}

// ---- report.html: report.md's blocks (headings, pipe tables, lists, paragraphs, images) as
// HTML, with the images inlined so that the one file can be mailed or attached ----

std::string base64(const std::string& bytes) {
  static const char* kDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t left = std::min<size_t>(3, bytes.size() - i);
    uint32_t n = 0;
    for (size_t k = 0; k < 3; ++k)
      n = n << 8 | (k < left ? static_cast<uint8_t>(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= left ? kDigits[(n >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

// Escapes text for HTML, then turns `code` and **bold** into their elements.
std::string inline_html(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      default:
        escaped += c;
    }
  }
  std::string out;
  bool code = false, bold = false;
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '`') {
      out += code ? "</code>" : "<code>", code = !code;
    } else if (!code && escaped.compare(i, 2, "**") == 0) {
      out += bold ? "</strong>" : "<strong>", bold = !bold, ++i;
    } else {
      out += escaped[i];
    }
  }
  return out;
}

// The cells of a pipe-table row "| a | b |".
std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  std::string cell;
  for (size_t i = 1; i < row.size(); ++i) {
    if (row[i] == '|') {
      const size_t a = cell.find_first_not_of(' '), b = cell.find_last_not_of(' ');
      out.push_back(a == std::string::npos ? "" : cell.substr(a, b - a + 1));
      cell.clear();
    } else {
      cell += row[i];
    }
  }
  return out;
}

std::string html(const std::string& md, const fs::path& dir, const std::string& title) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << inline_html(title)
      << "</title>\n<style>body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 "
         "1em}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em "
         ".6em;"
         "text-align:right}td:nth-child(2),th:nth-child(2){text-align:left}img{max-width:100%}"
         "</style></head><body>\n";
  std::istringstream lines(md);
  std::string line;
  int table_row = -1;  // -1: not in a table; else the row index within it
  bool in_list = false;
  while (std::getline(lines, line)) {
    const bool is_row = !line.empty() && line[0] == '|';
    if (!is_row && table_row >= 0) out << "</table>\n", table_row = -1;
    const bool is_item = line.rfind("- ", 0) == 0;
    if (!is_item && in_list) out << "</ul>\n", in_list = false;
    if (is_row) {
      if (table_row < 0) out << "<table>\n", table_row = 0;
      if (table_row != 1) {  // row 1 is the |---| separator
        const char* tag = table_row == 0 ? "th" : "td";
        out << "<tr>";
        for (const std::string& c : cells(line))
          out << "<" << tag << ">" << inline_html(c) << "</" << tag << ">";
        out << "</tr>\n";
      }
      ++table_row;
    } else if (is_item) {
      if (!in_list) out << "<ul>\n", in_list = true;
      out << "<li>" << inline_html(line.substr(2)) << "</li>\n";
    } else if (line.rfind("## ", 0) == 0) {
      out << "<h2>" << inline_html(line.substr(3)) << "</h2>\n";
    } else if (line.rfind("# ", 0) == 0) {
      out << "<h1>" << inline_html(line.substr(2)) << "</h1>\n";
    } else if (line.rfind("![", 0) == 0) {
      const size_t open = line.find("](");
      const std::string alt = line.substr(2, open - 2);
      const std::string file = line.substr(open + 2, line.size() - open - 3);
      out << "<p><img alt=\"" << inline_html(alt) << "\" src=\"data:image/png;base64,"
          << base64(files::read((dir / file).string(), "plot")) << "\"></p>\n";
    } else if (!line.empty()) {
      out << "<p>" << inline_html(line) << "</p>\n";
    }
  }
  if (table_row >= 0) out << "</table>\n";
  if (in_list) out << "</ul>\n";
  out << "</body></html>\n";
  return out.str();
}

// A CSV field, quoted when it holds a comma, a quote or a newline (RFC 4180).
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_number(const nlohmann::json& x) {
  return x.is_number() ? fixed(x.get<double>(), 6) : "";
}

std::string csv(const nlohmann::json& report, const Study& study) {
  std::ostringstream out;
  out << "point,variant,rank,seeds";
  for (const StudyMetric& m : study.metrics)
    out << ",test_" << m.name << "_mean,test_" << m.name << "_sd,dev_" << m.name << "_mean,dev_"
        << m.name << "_sd,diff_" << m.name << "_mean,diff_" << m.name << "_t_lo,diff_" << m.name
        << "_t_hi,diff_" << m.name << "_boot_lo,diff_" << m.name << "_boot_hi";
  out << ",parameters,elapsed_s_mean,samples_per_s_mean,seconds_per_epoch_mean,peak_rss_mib\n";
  const auto mean = [](const nlohmann::json& d) {
    return d.is_null() ? "" : csv_number(d["mean"]);
  };
  const auto sd = [](const nlohmann::json& d) { return d.is_null() ? "" : csv_number(d["sd"]); };
  for (const nlohmann::json& point : report["points"])
    for (const nlohmann::json& v : point["variants"]) {
      out << csv_field(point["point"].get<std::string>()) << ","
          << csv_field(v["variant"].get<std::string>()) << "," << v["rank"].get<int64_t>() << ","
          << v["n"].get<int64_t>();
      for (const StudyMetric& m : study.metrics) {
        nlohmann::json d;
        if (v.contains("vs_baseline")) d = v["vs_baseline"][m.name];
        const auto bound = [&](const char* key, int i) {
          return d.is_object() && d.contains(key) ? csv_number(d[key][i]) : std::string();
        };
        out << "," << mean(v["test"][m.name]) << "," << sd(v["test"][m.name]) << ","
            << mean(v["dev"][m.name]) << "," << sd(v["dev"][m.name]) << ","
            << (d.is_object() && d.contains("mean") ? csv_number(d["mean"]) : "") << ","
            << bound("t_interval", 0) << "," << bound("t_interval", 1) << ","
            << bound("bootstrap_interval", 0) << "," << bound("bootstrap_interval", 1);
      }
      out << "," << v.value("parameters", int64_t{0}) << "," << mean(v["elapsed_s"]) << ","
          << mean(v["samples_per_s"]) << "," << mean(v["seconds_per_epoch"]) << ","
          << csv_number(v["peak_rss_mib"]) << "\n";
    }
  return out.str();
}

}  // namespace

nlohmann::json selected_dev(const nlohmann::json& summary) {
  if (summary.contains("best_eval") && summary["best_eval"].is_object())
    return summary["best_eval"];
  return summary.value("final_eval", nlohmann::json::object()).value("dev", nlohmann::json());
}

nlohmann::json write_study_report(const Study& study, const std::string& dir) {
  const std::vector<StudyRun> runs = study.runs();
  std::vector<RunRecord> records;
  records.reserve(runs.size());
  nlohmann::json missing = nlohmann::json::array();
  for (const StudyRun& run : runs) {
    const fs::path run_dir = fs::path(dir) / run.dir;
    if (run_state(run_dir.string()) == RunState::Ended)
      records.push_back(read_run(run, run_dir));
    else
      missing.push_back(run.dir);
  }
  nlohmann::json report = {{"study", study.path},
                           {"description", study.description},
                           {"seeds", study.seeds},
                           {"baseline", study.baseline},
                           {"runs", runs.size()},
                           {"runs_ended", records.size()},
                           {"missing", missing},
                           {"grid", study.grid},
                           {"points", nlohmann::json::array()}};
  for (const StudyMetric& m : study.metrics)
    report["metrics"].push_back({{"name", m.name}, {"mode", m.higher_is_better ? "max" : "min"}});
  for (const GridPoint& point : study.points) {
    std::map<std::string, std::vector<const RunRecord*>> by_variant;
    for (const RunRecord& r : records)
      if (r.run->point == point.label) by_variant[r.run->variant].push_back(&r);
    report["points"].push_back(point_report(study, point, by_variant));
  }
  files::write_atomically((fs::path(dir) / "report.json").string(), report.dump(2) + "\n",
                          "report");
  files::write_atomically((fs::path(dir) / "report.csv").string(), csv(report, study), "report");
  const std::string md = markdown(report, study, plot_files(dir));
  files::write_atomically((fs::path(dir) / "report.md").string(), md, "report");
  files::write_atomically((fs::path(dir) / "report.html").string(),
                          html(md, dir, "Study " + study.path), "report");
  return report;
}

}  // namespace heed
