#include "framework/communicator.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "framework/error.h"

#ifdef HEED_HAVE_MPI
// MPI's C interface only: the deprecated C++ bindings do not compile cleanly under -Wextra.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace heed {

namespace {

Communicator g_world;
bool g_started = false;  // init() started MPI

// The variable a launcher sets in each process it starts: Open MPI's mpirun, MPICH's and Intel's
// Hydra (PMI), Slurm's srun and PRRTE (PMIx).
const char* launcher_variable() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name) != nullptr) return name;
  return nullptr;
}

#ifdef HEED_HAVE_MPI
// MPI counts are ints: a longer buffer goes in pieces.
constexpr int64_t kMaxCount = INT_MAX;

template <class F>
void in_pieces(int64_t n, F&& f) {
  for (int64_t at = 0; at < n; at += kMaxCount)
    f(at, static_cast<int>(std::min(kMaxCount, n - at)));
}
#endif

}  // namespace

void Communicator::init(int& argc, char**& argv) {
  const char* launched = launcher_variable();
  if (launched == nullptr || g_started) return;
#ifdef HEED_HAVE_MPI
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  g_started = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_world.rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &g_world.size_);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &g_world.local_size_);
  MPI_Comm_free(&node);
#else
  (void)argc, (void)argv;
  throw Error(std::string("a launcher started this process (") + launched +
              " is set), but this heed was built without MPI: install libopenmpi-dev and "
              "openmpi-bin (tools/bootstrap.sh does) and build it again, or run heed without "
              "mpirun");
#endif
}

void Communicator::finalize() {
#ifdef HEED_HAVE_MPI
  if (g_started) MPI_Finalize();
#endif
  g_started = false;
}

bool Communicator::available() {
#ifdef HEED_HAVE_MPI
  return true;
#else
  return false;
#endif
}

const Communicator& Communicator::world() {
  return g_world;
}

void Communicator::require_same(const std::string& what, const std::string& value) const {
  if (size_ == 1) return;
  const std::vector<std::string> all = allgather(std::to_string(std::hash<std::string>{}(value)));
  std::string differing;
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0]) differing += (differing.empty() ? "" : ", ") + std::to_string(r);
  if (!differing.empty())
    throw Error(what + " differs between the ranks: rank " + differing +
                " has another than rank 0 "
                "(every rank reads its own copy: give every node the same)");
}

#ifdef HEED_HAVE_MPI

void Communicator::broadcast(std::string& bytes) const {
  if (size_ == 1) return;
  int64_t n = static_cast<int64_t>(bytes.size());
  MPI_Bcast(&n, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  bytes.resize(static_cast<size_t>(n));
  in_pieces(n, [&](int64_t at, int count) {
    MPI_Bcast(bytes.data() + at, count, MPI_CHAR, 0, MPI_COMM_WORLD);
  });
}

void Communicator::broadcast(float* data, int64_t n, int root) const {
  if (size_ == 1) return;
  in_pieces(n, [&](int64_t at, int count) {
    MPI_Bcast(data + at, count, MPI_FLOAT, root, MPI_COMM_WORLD);
  });
}

void Communicator::allreduce_sum(float* data, int64_t n) const {
  if (size_ == 1) return;
  in_pieces(n, [&](int64_t at, int count) {
    MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  });
}

void Communicator::allreduce_sum(double* data, int64_t n) const {
  if (size_ == 1) return;
  in_pieces(n, [&](int64_t at, int count) {
    MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  });
}

void Communicator::allreduce_max(double* data, int64_t n) const {
  if (size_ == 1) return;
  in_pieces(n, [&](int64_t at, int count) {
    MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  });
}

void Communicator::send(const float* data, int64_t n, int to) const {
  in_pieces(n, [&](int64_t at, int count) {
    MPI_Send(data + at, count, MPI_FLOAT, to, 0, MPI_COMM_WORLD);
  });
}

void Communicator::receive(float* data, int64_t n, int from) const {
  in_pieces(n, [&](int64_t at, int count) {
    MPI_Recv(data + at, count, MPI_FLOAT, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  });
}

std::vector<std::string> Communicator::allgather(const std::string& text) const {
  if (size_ == 1) return {text};
  const int n = static_cast<int>(text.size());
  std::vector<int> sizes(static_cast<size_t>(size_)), offsets(static_cast<size_t>(size_));
  MPI_Allgather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size_; ++r) offsets[static_cast<size_t>(r)] = total, total += sizes[r];
  std::string all(static_cast<size_t>(total), '\0');
  MPI_Allgatherv(text.data(), n, MPI_CHAR, all.data(), sizes.data(), offsets.data(), MPI_CHAR,
                 MPI_COMM_WORLD);
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r)
    out.push_back(all.substr(static_cast<size_t>(offsets[r]), static_cast<size_t>(sizes[r])));
  return out;
}

void Communicator::barrier() const {
  if (size_ > 1) MPI_Barrier(MPI_COMM_WORLD);
}

void Communicator::abort(int status) const {
  if (g_started) MPI_Abort(MPI_COMM_WORLD, status);
  std::exit(status);
}

struct ReductionQueue::Pending {
  std::vector<MPI_Request> requests;
};

ReductionQueue::ReductionQueue(const Communicator& comm) : comm_(comm), pending_(new Pending) {}

ReductionQueue::~ReductionQueue() {
  wait();
  delete pending_;
}

void ReductionQueue::sum(float* data, int64_t n) {
  if (comm_.size() == 1) return;
  in_pieces(n, [&](int64_t at, int count) {
    MPI_Request r;
    MPI_Iallreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &r);
    pending_->requests.push_back(r);
  });
}

void ReductionQueue::progress() {
  if (pending_->requests.empty()) return;
  int done = 0;
  MPI_Testall(static_cast<int>(pending_->requests.size()), pending_->requests.data(), &done,
              MPI_STATUSES_IGNORE);
  if (done) pending_->requests.clear();
}

void ReductionQueue::wait() {
  if (pending_->requests.empty()) return;
  MPI_Waitall(static_cast<int>(pending_->requests.size()), pending_->requests.data(),
              MPI_STATUSES_IGNORE);
  pending_->requests.clear();
}

#else  // one rank: every collective is the identity

void Communicator::broadcast(std::string&) const {}
void Communicator::broadcast(float*, int64_t, int) const {}
void Communicator::allreduce_sum(float*, int64_t) const {}
void Communicator::allreduce_sum(double*, int64_t) const {}
void Communicator::allreduce_max(double*, int64_t) const {}
void Communicator::send(const float*, int64_t, int) const {
  throw Error("Communicator::send: this heed has one rank (built without MPI)");
}
void Communicator::receive(float*, int64_t, int) const {
  throw Error("Communicator::receive: this heed has one rank (built without MPI)");
}
std::vector<std::string> Communicator::allgather(const std::string& text) const {
  return {text};
}
void Communicator::barrier() const {}
void Communicator::abort(int status) const {
  std::exit(status);
}

// One rank: nothing to sum with, so nothing is ever pending.
struct ReductionQueue::Pending {};
ReductionQueue::ReductionQueue(const Communicator& comm) : comm_(comm), pending_(nullptr) {}
ReductionQueue::~ReductionQueue() = default;
void ReductionQueue::sum(float*, int64_t) {
  HEED_CHECK(comm_.size() == 1 && pending_ == nullptr, "ReductionQueue: one rank has no other");
}
void ReductionQueue::progress() {}
void ReductionQueue::wait() {}

#endif

}  // namespace heed
