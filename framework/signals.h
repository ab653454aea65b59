#pragma once
// Stop requests from SIGINT and SIGTERM, received by one thread of their own.
//
// No signal handler ever runs on a compute thread: install_stop_signals() blocks SIGINT and
// SIGTERM in the calling thread, so every thread created after it (OpenMP's, oneDNN's) inherits
// the block, and starts one thread that takes them with sigwait. A handler interrupting a
// compute thread is unsafe here: oneDNN 2.6's JIT GEMM may point the stack pointer into the heap
// while it runs, and the kernel then writes the signal frame over heap memory (oneDNN issue
// #4845, fixed by PR #4855 after Debian 12's 2.6.3), which corrupted the heap in about half of
// the Ctrl-Cs of an LSTM run.
//
// The first signal sets the stop request, which the trainer reads between steps (it finishes
// the step, writes a checkpoint and exits with 128 + the signal: 130 for SIGINT, 143 for
// SIGTERM). A second signal ends the process at once with that status, touching no file (an
// unfinished checkpoint is a temporary file that the next start removes).
//
//   int main(int argc, char** argv) {
//     heed::install_stop_signals();  // first, before any thread exists
//     ...
//   }

namespace heed {

/// Blocks SIGINT and SIGTERM in the calling thread and starts the thread that receives them.
/// Call it once, first thing in main, before any other thread exists (threads created earlier
/// keep the default action, which terminates the process). Calling it again does nothing.
void install_stop_signals();
/// True once SIGINT or SIGTERM arrived (or request_stop was called).
bool stop_requested();
/// The signal that requested the stop (SIGINT or SIGTERM), 0 when none did.
int stop_signal();
/// Requests a stop as that signal would; for tests and embedders.
void request_stop(int signal);
/// Forgets a stop request (a test running several trainings in one process).
void clear_stop_request();

}  // namespace heed
