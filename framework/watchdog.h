#pragma once
// The watchdog's judgement: which ranks of a job have hung. docs/distributed.md, "Failures".
//
// A rank that dies ends the job through the launcher (mpirun notices the exit); a rank that hangs
// does not: the others would wait in their collectives forever. So every rank of a job runs a
// watchdog thread (framework/communicator.cpp) that sends a heartbeat to rank 0 every second, and
// rank 0's to every rank; each beat says whether the rank is waiting on the others at a training
// step's collectives, and for how long (StepWait). Two kinds of hang end the job, naming the rank:
//   - silence: no heartbeat from a rank for HEED_HEARTBEAT_TIMEOUT seconds (default 10): a process
//     stopped (SIGSTOP, a debugger), a machine frozen, a network lost;
//   - a stall: a rank that lives but has not reached a step's collectives while another has waited
//     there HEED_STALL_TIMEOUT seconds (default 300; Horovod's stall check): a deadlock or an
//     endless loop in one rank's computation. Only a training step's waits count, which last a
//     step's imbalance between the ranks (and rank 0's checkpoint writing); an evaluation's and a
//     study's runs do not.
// The decision is a pure function of what the beats said, tested without MPI.
//
//   { StepWait waiting; queue.wait(); }  // the watchdog knows this rank waits on the others

#include <string>
#include <vector>

namespace heed {

struct WatchdogTimeouts {
  double heartbeat_s = 10;  // a rank silent this long has hung
  double stall_s = 300;     // a rank the others waited for this long at a step has hung
  /// From HEED_HEARTBEAT_TIMEOUT and HEED_STALL_TIMEOUT (seconds, positive), else the defaults.
  /// Throws heed::Error naming the variable when one is not a positive number.
  static WatchdogTimeouts from_environment();
};

/// What rank 0's watchdog knows of one rank.
struct RankBeat {
  double silent_s = 0;    // seconds since its last heartbeat (0 for this rank itself)
  double waiting_s = -1;  // seconds it has waited at a step's collectives; < 0: not waiting
  bool done = false;      // it said goodbye (its command ended): no longer watched
};

/// The watchdog's clock: seconds on std::chrono::steady_clock (never jumps with the wall clock),
/// from an arbitrary origin; only differences mean anything.
double watchdog_clock_s();

/// An error message naming the hung ranks and why, or "" when none has hung.
std::string hung_ranks(const std::vector<RankBeat>& ranks, const WatchdogTimeouts& timeouts);

/// While alive, this rank waits on the others at a training step's collectives (the gradients'
/// reduction, the step's agreement, a synchronized batch norm's sums): the stall check's clock
/// runs.
class StepWait {
 public:
  StepWait();
  ~StepWait();
  StepWait(const StepWait&) = delete;
  StepWait& operator=(const StepWait&) = delete;
  /// Seconds this rank has waited at a step, or -1 when it is not waiting (any thread may ask).
  static double seconds();
};

}  // namespace heed
