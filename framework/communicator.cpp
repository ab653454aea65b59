#include "framework/communicator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "framework/error.h"
#include "framework/watchdog.h"

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

// Until `request` completes, asleep between tests: MPI's blocking calls spin a core.
void wait_asleep(MPI_Request& request) {
  for (int done = 0;;) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The watchdog thread (framework/watchdog.h): on a communicator of its own, every rank sends a
// heartbeat to rank 0 each second and rank 0 one to every rank; rank 0 judges every rank,
// the others judge rank 0. A hung rank ends the job (MPI_Abort) with an error naming it. At the
// end of the command each rank says goodbye, so that one ending before the others is not taken
// for silent.
class Watchdog {
 public:
  Watchdog(const WatchdogTimeouts& timeouts, int rank, int size)
      : timeouts_(timeouts), rank_(rank), size_(size) {
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
    for (int r = 0; r < size; ++r)
      if (r != rank && (rank == 0 || r == 0)) peers_.push_back(Peer{r});
    thread_ = std::thread([this] { run(); });
  }
  ~Watchdog() {
    stop_ = true;
    thread_.join();
    MPI_Comm_free(&comm_);
  }

 private:
  static constexpr double kAlive = 0, kDone = 1, kBeatS = 1, kPollS = 0.1;
  struct Peer {
    int rank;
    MPI_Request recv = MPI_REQUEST_NULL, send = MPI_REQUEST_NULL;
    double in[2] = {0, 0}, out[2] = {0, 0};  // {kAlive or kDone, StepWait::seconds()}
    double heard = 0, waiting_s = -1;
    bool done = false;
  };

  void run() {
    for (Peer& p : peers_) p.heard = watchdog_clock_s(), listen(p);
    double last_beat = -kBeatS;
    while (!stop_) {
      const double now = watchdog_clock_s();
      if (now - last_beat >= kBeatS) {
        for (Peer& p : peers_) beat(p, kAlive);
        last_beat = now;
      }
      for (Peer& p : peers_) drain(p, now);
      if (const std::string hung = judge(now); !hung.empty()) fail(hung);
      std::this_thread::sleep_for(std::chrono::duration<double>(kPollS));
    }
    for (Peer& p : peers_) {
      beat(p, kDone);
      MPI_Wait(&p.send, MPI_STATUS_IGNORE);  // a small message: sent without the peer's help
      if (p.recv != MPI_REQUEST_NULL) {
        MPI_Cancel(&p.recv);
        MPI_Wait(&p.recv, MPI_STATUS_IGNORE);
      }
    }
  }

  void listen(Peer& p) { MPI_Irecv(p.in, 2, MPI_DOUBLE, p.rank, 0, comm_, &p.recv); }

  // A beat is skipped while the last one is still on its way (a peer that stopped reading).
  void beat(Peer& p, double state) {
    int sent = 1;
    if (p.send != MPI_REQUEST_NULL) MPI_Test(&p.send, &sent, MPI_STATUS_IGNORE);
    if (!sent && state == kAlive) return;
    if (!sent) MPI_Wait(&p.send, MPI_STATUS_IGNORE);
    p.out[0] = state, p.out[1] = StepWait::seconds();
    MPI_Isend(p.out, 2, MPI_DOUBLE, p.rank, 0, comm_, &p.send);
  }

  void drain(Peer& p, double now) {
    int arrived = 0;
    while (p.recv != MPI_REQUEST_NULL) {
      MPI_Test(&p.recv, &arrived, MPI_STATUS_IGNORE);
      if (!arrived) return;
      p.heard = now, p.waiting_s = p.in[1], p.done = p.in[0] == kDone;
      if (!p.done) listen(p);
    }
  }

  std::string judge(double now) const {
    // Rank 0 knows every rank; the others know rank 0 alone (and count the rest as done).
    std::vector<RankBeat> beats(static_cast<size_t>(size_), RankBeat{0, -1, rank_ != 0});
    beats[static_cast<size_t>(rank_)] = {0, rank_ == 0 ? StepWait::seconds() : -1, rank_ != 0};
    // Rank 0's stall check alone, which knows whether the others work or wait: the others
    // judge rank 0's silence only.
    for (const Peer& p : peers_)
      beats[static_cast<size_t>(p.rank)] = {now - p.heard, rank_ == 0 ? p.waiting_s : -1, p.done};
    return hung_ranks(beats, timeouts_);
  }

  [[noreturn]] void fail(const std::string& hung) const {
    std::fprintf(stderr, "heed: error: rank %d: %s\n", rank_, hung.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::abort();
  }

  const WatchdogTimeouts timeouts_;
  const int rank_, size_;
  MPI_Comm comm_;
  std::vector<Peer> peers_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::unique_ptr<Watchdog> g_watchdog;
#endif

}  // namespace

void Communicator::init(int& argc, char**& argv) {
  const char* launched = launcher_variable();
  if (launched == nullptr || g_started) return;
#ifdef HEED_HAVE_MPI
  const WatchdogTimeouts timeouts = WatchdogTimeouts::from_environment();
  // The watchdog thread calls MPI beside the main thread: MPI_THREAD_MULTIPLE.
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  g_started = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_world.rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &g_world.size_);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &g_world.local_size_);
  MPI_Comm_free(&node);
  HEED_CHECK(provided == MPI_THREAD_MULTIPLE, "this MPI library does not allow MPI calls from ",
             "two threads (MPI_THREAD_MULTIPLE), which heed's watchdog needs: use Open MPI 4 ",
             "or MPICH 3 and later");
  if (g_world.size_ > 1)
    g_watchdog = std::make_unique<Watchdog>(timeouts, g_world.rank_, g_world.size_);
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
  g_watchdog.reset();  // says goodbye to the other ranks
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
  MPI_Request request;
  MPI_Ibcast(&n, 1, MPI_INT64_T, 0, MPI_COMM_WORLD, &request);
  wait_asleep(request);
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
  if (size_ == 1) return;
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  wait_asleep(request);
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

// Rank 0 serves the items from a thread on a communicator of its own: an ask (tag kAsk) gets
// the next item or -1; a goodbye (kBye) says a rank asks no more. The server ends after every
// other rank's goodbye.
struct WorkQueue::State {
  static constexpr int kAsk = 1, kAnswer = 2, kBye = 3;
  const Communicator& comm;
  MPI_Comm queue;
  std::mutex lock;
  size_t next = 0, n;
  std::thread server;

  State(const Communicator& c, size_t items) : comm(c), n(items) {
    if (comm.size() == 1) return;  // perhaps no MPI started: a counter
    MPI_Comm_dup(MPI_COMM_WORLD, &queue);
    if (comm.root()) server = std::thread([this] { serve(); });
  }
  ~State() {
    if (comm.size() == 1) return;
    if (comm.root())
      server.join();
    else
      MPI_Send(nullptr, 0, MPI_INT64_T, 0, kBye, queue);
    MPI_Comm_free(&queue);
  }
  int64_t take() {
    const std::lock_guard<std::mutex> hold(lock);
    return next < n ? static_cast<int64_t>(next++) : -1;
  }
  // Asleep between polls: a blocking receive would spin a core the runs need.
  void serve() {
    for (int left = comm.size() - 1; left > 0;) {
      MPI_Request request;
      MPI_Status status;
      MPI_Irecv(nullptr, 0, MPI_INT64_T, MPI_ANY_SOURCE, MPI_ANY_TAG, queue, &request);
      for (int done = 0; !done;) {
        MPI_Test(&request, &done, &status);
        if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (status.MPI_TAG == kBye) {
        --left;
        continue;
      }
      const int64_t item = take();
      MPI_Send(&item, 1, MPI_INT64_T, status.MPI_SOURCE, kAnswer, queue);
    }
  }
  std::optional<size_t> ask() {
    if (comm.root() || comm.size() == 1) {
      const int64_t item = take();
      return item < 0 ? std::nullopt : std::optional<size_t>(static_cast<size_t>(item));
    }
    int64_t item = -1;
    MPI_Send(nullptr, 0, MPI_INT64_T, 0, kAsk, queue);
    MPI_Recv(&item, 1, MPI_INT64_T, 0, kAnswer, queue, MPI_STATUS_IGNORE);
    return item < 0 ? std::nullopt : std::optional<size_t>(static_cast<size_t>(item));
  }
};

WorkQueue::WorkQueue(const Communicator& comm, size_t n)
    : state_(std::make_unique<State>(comm, n)) {}
WorkQueue::~WorkQueue() = default;
std::optional<size_t> WorkQueue::next() {
  return state_->ask();
}
size_t WorkQueue::left() const {
  if (!state_->comm.root()) return 0;
  const std::lock_guard<std::mutex> hold(state_->lock);
  return state_->n - state_->next;
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

struct WorkQueue::State {
  size_t next = 0, n;
};
WorkQueue::WorkQueue(const Communicator&, size_t n) : state_(new State{0, n}) {}
WorkQueue::~WorkQueue() = default;
std::optional<size_t> WorkQueue::next() {
  return state_->next < state_->n ? std::optional<size_t>(state_->next++) : std::nullopt;
}
size_t WorkQueue::left() const {
  return state_->n - state_->next;
}

#endif

}  // namespace heed
