#include "framework/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <utility>

#include "framework/error.h"
#include "framework/files.h"

namespace heed {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLockFile = ".lock";

// The files a run writes at its top level; a run that never reached a checkpoint leaves only
// these (and temporaries), and a new run in its directory removes them.
const char* const kRunFiles[] = {"recipe.resolved.json", "metrics.jsonl", "summary.json"};

bool is_run_dir(const fs::path& dir) {
  if (fs::exists(dir / kLockFile) || fs::exists(dir / "checkpoints")) return true;
  for (const char* f : kRunFiles)
    if (fs::exists(dir / f)) return true;
  return false;
}

void remove_temporaries(const fs::path& dir) {
  for (const fs::path& d : {dir, dir / "checkpoints"}) {
    if (!fs::is_directory(d)) continue;
    for (const auto& entry : fs::directory_iterator(d))
      if (files::is_temporary(entry.path().filename().string())) fs::remove(entry.path());
  }
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

}  // namespace

int try_lock(const fs::path& dir, const std::string& me, std::string& holder) {
  const std::string path = (dir / kLockFile).string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  HEED_CHECK(fd >= 0, "run directory ", dir.string(), ": cannot open ", kLockFile, ": ",
             std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    HEED_CHECK(error == EWOULDBLOCK, "run directory ", dir.string(), ": cannot lock ", kLockFile,
               ": ", std::strerror(error));
    holder = files::read(path, "lock file");
    while (!holder.empty() && holder.back() == '\n') holder.pop_back();
    if (holder.empty()) holder = "another process";
    return -1;
  }
  // Only a note for the message a second process gets; the lock itself is the flock.
  const std::string text =
      "process " + std::to_string(::getpid()) + " (" + me + ", since " + now_utc() + ")\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    // The lock holds without its note; a refused process then says "another process".
  }
  return fd;
}

namespace {

std::string in_use(const std::string& path, const std::string& holder) {
  return "run directory " + path + " is in use by " + holder +
         "; only one process may write a run directory";
}

}  // namespace

nlohmann::json read_run_json(const std::string& path) {
  try {
    return nlohmann::json::parse(files::read(path, "run file"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": corrupt JSON (" + e.what() + ")");
  }
}

RunDir::RunDir(std::string path, int lock_fd, bool created, bool reused)
    : path_(std::move(path)), lock_fd_(lock_fd), created_(created), reused_(reused) {}

RunDir::RunDir(RunDir&& other) noexcept
    : path_(std::move(other.path_)),
      lock_fd_(std::exchange(other.lock_fd_, -1)),
      created_(other.created_),
      reused_(other.reused_) {}

RunDir& RunDir::operator=(RunDir&& other) noexcept {
  if (this != &other) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    path_ = std::move(other.path_);
    lock_fd_ = std::exchange(other.lock_fd_, -1);
    created_ = other.created_;
    reused_ = other.reused_;
  }
  return *this;
}

RunDir::~RunDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

bool RunDir::has_checkpoint(const std::string& dir) {
  const fs::path checkpoints = fs::path(dir) / "checkpoints";
  if (!fs::is_directory(checkpoints)) return false;
  for (const auto& entry : fs::directory_iterator(checkpoints))
    if (entry.path().extension() == ".h5") return true;
  return false;
}

std::optional<RunDir> RunDir::claim(const std::string& path, const std::string& holder,
                                    std::string& refusal) {
  const fs::path dir = path;
  const bool existed = fs::exists(dir);
  if (existed && !fs::is_directory(dir)) {
    refusal = path + " exists and is not a directory";
    return std::nullopt;
  }
  const bool earlier_run = existed && is_run_dir(dir);
  if (existed && !fs::is_empty(dir) && !earlier_run) {
    refusal = "directory " + path + " is not empty and holds no heed run";
    return std::nullopt;
  }
  fs::create_directories(dir);
  std::string other;
  const int fd = try_lock(dir, holder, other);
  if (fd < 0) {
    refusal = in_use(path, other);
    return std::nullopt;
  }
  RunDir run(path, fd, !existed, earlier_run);
  if (has_checkpoint(path)) {
    refusal = "run directory " + path + " already holds a run; continue it with `heed train " +
              "--resume " + path + "`";
    return std::nullopt;
  }
  remove_temporaries(dir);
  for (const char* f : kRunFiles) fs::remove(dir / f);
  return run;
}

RunDir RunDir::create(const std::string& path, const std::string& holder) {
  std::string refusal;
  std::optional<RunDir> run = claim(path, holder, refusal);
  if (!run) throw Error(refusal + " (or choose another --out)");
  return std::move(*run);
}

RunDir RunDir::create_numbered(const std::string& base, const std::string& holder) {
  for (int i = 1;; ++i) {
    const std::string path = i == 1 ? base : base + "-" + std::to_string(i);
    std::string refusal;
    if (std::optional<RunDir> run = claim(path, holder, refusal)) return std::move(*run);
    HEED_CHECK(i < 10000, "no free run directory from ", base, " to ", path, ": ", refusal);
  }
}

RunDir RunDir::open(const std::string& path, const std::string& holder) {
  const fs::path dir = path;
  HEED_CHECK(fs::is_directory(dir), "run ", path, ": no such directory");
  HEED_CHECK(is_run_dir(dir), "run ", path, ": not a heed run directory (no recipe.resolved.json)");
  std::string other;
  const int fd = try_lock(dir, holder, other);
  HEED_CHECK(fd >= 0, in_use(path, other));
  remove_temporaries(dir);
  return RunDir(path, fd, false, false);
}

void RunDir::discard_if_unused() {
  if (lock_fd_ < 0) return;
  ::close(std::exchange(lock_fd_, -1));
  if (!created_) return;
  std::error_code ignored;
  fs::remove(fs::path(path_) / kLockFile, ignored);
  fs::remove(path_, ignored);  // only if empty
}

}  // namespace heed
