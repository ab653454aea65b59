#pragma once
// Runs the heed command line (HEED_BINARY, the path CMake gives the tests) as a user would, for the
// tests of what a command prints, writes and exits with.

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace heed::testing {

struct CliResult {
  int status;       // the exit status; -1 when the command did not exit (a signal, no shell)
  std::string err;  // everything it wrote to stderr
};

/// `heed <args>` through the shell, stdout discarded, stderr kept in `dir`/stderr.txt.
inline CliResult run_cli(const std::string& args, const std::filesystem::path& dir) {
  const std::filesystem::path err = dir / "stderr.txt";
  const std::string cmd = std::string(HEED_BINARY) + " " + args + " > /dev/null 2> " + err.string();
  const int raw = std::system(cmd.c_str());
  std::ifstream in(err);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, text};
}

/// `heed <args>` through the shell: its exit status and everything it wrote to stdout (stderr
/// kept in `dir`/stderr.txt).
inline std::pair<int, std::string> run_with_stdout(const std::string& args,
                                                   const std::filesystem::path& dir) {
  const std::filesystem::path out = dir / "stdout.txt";
  const int raw = std::system((std::string(HEED_BINARY) + " " + args + " > " + out.string() +
                               " 2> " + (dir / "stderr.txt").string())
                                  .c_str());
  std::ifstream in(out);
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1,
          std::string(std::istreambuf_iterator<char>(in), {})};
}

}  // namespace heed::testing
