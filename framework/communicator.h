#pragma once
// Communicator: the processes of an MPI job, each a rank (`mpirun -np N heed ...`, Slurm's
// `srun`), or this process alone (one rank). docs/distributed.md.
//
// heed links MPI when CMake finds it (HEED_HAVE_MPI: Debian's libopenmpi-dev), and starts it only
// in a process that a launcher started (one that set OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK),
// so a plain `heed train` is one rank and never touches MPI. Only communicator.cpp includes
// mpi.h. A launcher's process in a heed built without MPI is refused with an error saying so:
// N copies that each believe they are alone would otherwise run N trainings into one directory.
//
// Collectives are called by every rank in the same order, as MPI's are. A failing MPI call ends
// the whole job (MPI_ERRORS_ARE_FATAL), and a rank that exits or is killed makes the launcher end
// the others, naming the rank; abort() ends every rank after an error on one. A rank that hangs
// is found by the watchdog thread each rank runs (framework/watchdog.h), which ends the job.
//
//   int main(int argc, char** argv) {
//     heed::Communicator::init(argc, argv);  // after install_stop_signals()
//     const heed::Communicator& world = heed::Communicator::world();
//     if (world.root()) ...                  // rank 0 writes the run directory
//   }

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace heed {

class Communicator {
 public:
  /// Starts MPI (MPI_THREAD_MULTIPLE: the watchdog thread calls it too) and, with more than one
  /// rank, the watchdog, when a launcher started this process; else world() is one rank. Call it
  /// once, early in main. Throws heed::Error when a launcher started it and heed was built without
  /// MPI, or when HEED_HEARTBEAT_TIMEOUT or HEED_STALL_TIMEOUT is not a positive number.
  static void init(int& argc, char**& argv);
  /// Stops the watchdog (telling the other ranks this one is done) and ends MPI (MPI_Finalize) if
  /// init started it; call it before main returns.
  static void finalize();
  /// True when this heed was built with MPI.
  static bool available();
  /// The job's ranks (MPI_COMM_WORLD), or this process alone.
  static const Communicator& world();

  int rank() const { return rank_; }
  int size() const { return size_; }
  /// The ranks on this machine (MPI_COMM_TYPE_SHARED), this one included.
  int local_size() const { return local_size_; }
  bool root() const { return rank_ == 0; }

  /// Every rank's `bytes` becomes rank 0's. The others wait asleep (rank 0's evaluations are
  /// long): MPI's blocking calls would spin a core rank 0 may need.
  void broadcast(std::string& bytes) const;
  /// Every rank's data[0, n) becomes rank `root`'s.
  void broadcast(float* data, int64_t n, int root = 0) const;
  /// In place: data[0, n) on every rank becomes the element-wise sum over the ranks, added in the
  /// order MPI's reduction chooses (which may change with the rank count and message size).
  void allreduce_sum(float* data, int64_t n) const;
  void allreduce_sum(double* data, int64_t n) const;
  /// In place: the element-wise maximum over the ranks.
  void allreduce_max(double* data, int64_t n) const;
  /// Point to point, for a reduction in a fixed order: n floats to rank `to`, from rank `from`.
  void send(const float* data, int64_t n, int to) const;
  void receive(float* data, int64_t n, int from) const;
  /// Every rank's `text`, in rank order, on every rank.
  std::vector<std::string> allgather(const std::string& text) const;
  /// Throws heed::Error naming the ranks whose `value` differs from rank 0's (compared by a
  /// 64-bit hash): `what` says what it is ("the recipe", "the heed binary").
  void require_same(const std::string& what, const std::string& value) const;
  /// Waits until every rank reaches it, asleep (MPI_Ibarrier, tested every 5 ms): a rank that
  /// waits long (for the others' study runs) leaves the cores to them, where MPI's blocking calls
  /// would spin.
  void barrier() const;
  /// Ends every rank of the job with `status` (MPI_Abort); one rank alone exits.
  [[noreturn]] void abort(int status) const;

 private:
  int rank_ = 0, size_ = 1, local_size_ = 1;
};

/// Sums over the ranks started now and finished later (MPI_Iallreduce), so that communication
/// runs while this rank computes: every rank starts the same sums in the same order.
///   ReductionQueue queue(world);
///   queue.sum(bucket, n);  // as soon as the bucket is ready
///   queue.progress();      // now and then: Open MPI moves messages only inside MPI calls
///   queue.wait();          // every bucket now holds its sum over the ranks
class ReductionQueue {
 public:
  explicit ReductionQueue(const Communicator& comm);
  ~ReductionQueue();
  ReductionQueue(const ReductionQueue&) = delete;
  ReductionQueue& operator=(const ReductionQueue&) = delete;
  /// Starts the in-place element-wise sum of data[0, n) over the ranks; data must stay alive and
  /// untouched until wait().
  void sum(float* data, int64_t n);
  void progress();
  void wait();

 private:
  struct Pending;
  const Communicator& comm_;
  Pending* pending_;
};

/// The items 0 .. n-1 handed out one at a time as ranks ask (`mpirun heed compare`'s runs), so
/// that a rank whose items end early takes more: rank 0 holds them and answers the others from a
/// thread of its own. Every rank of `comm` makes one, takes items with next() until it has none or
/// wants no more, and destroys it; rank 0's destructor waits until every rank has destroyed its
/// own. On one rank, a counter.
///   WorkQueue queue(world, runs.size());
///   while (auto i = queue.next()) train(runs[*i]);
class WorkQueue {
 public:
  WorkQueue(const Communicator& comm, size_t n);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;
  /// The next item no rank has taken, or none when all are taken.
  std::optional<size_t> next();
  /// The items no rank has taken yet, as rank 0 (or one rank) knows; 0 on the other ranks.
  size_t left() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace heed
