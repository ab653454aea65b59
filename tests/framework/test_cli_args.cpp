// The `heed` command line's argument errors: one line "heed: error: <message> (see heed <command>
// --help)" on stderr and exit status 2, as README promises; --help still prints help and exits 0.

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

#include "cli.h"
#include "temp_dir.h"

using heed::testing::CliResult;
using heed::testing::run_cli;
using heed::testing::TempDir;

namespace {

// One line, the error form, the exit status of a usage error.
void check_usage_error(const CliResult& r, const std::string& message) {
  CHECK(r.status == 2);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.rfind("heed: error: ", 0) == 0);
  CHECK_MESSAGE(r.err.find(message) != std::string::npos, r.err);
}

}  // namespace

TEST_CASE("CLI argument errors are one line \"heed: error: ...\" with exit status 2") {
  TempDir tmp;
  check_usage_error(run_cli("train --bogus", tmp.fs_path()),
                    "heed: error: The following argument was not expected: --bogus (see heed "
                    "train --help)");
  check_usage_error(run_cli("eval", tmp.fs_path()),
                    "heed: error: run_dir is required (see heed eval --help)");
  check_usage_error(run_cli("eval somewhere --split validation", tmp.fs_path()),
                    "--split: validation not in {test,dev,train} (see heed eval --help)");
  check_usage_error(run_cli("eval somewhere --split", tmp.fs_path()), "--split");
  check_usage_error(
      run_cli("trian r.json", tmp.fs_path()),
      "heed: error: unknown command \"trian\"; did you mean \"train\"? the commands "
      "are train, eval, inspect, generate, predict, show, compare, list (see heed --help)");
  check_usage_error(run_cli("", tmp.fs_path()), "no command given");
  check_usage_error(run_cli("train", tmp.fs_path()),
                    "train: give a recipe file or --resume RUN_DIR (see heed train --help)");
  check_usage_error(run_cli("train " + (tmp.fs_path() / "none.json").string(), tmp.fs_path()),
                    "none.json");
  check_usage_error(run_cli("inspect somewhere --samples 0", tmp.fs_path()), "--samples");

  // --help is not an error.
  CliResult r = run_cli("--help", tmp.fs_path());
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  r = run_cli("train --help", tmp.fs_path());
  CHECK(r.status == 0);
  CHECK(r.err.empty());
}
