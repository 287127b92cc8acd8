// Invariant checks inside libFuzzer targets (expr/fuzz, runtime/fuzz,
// history/fuzz, signals/fuzz).
//
// A fuzz target returns normally for every input the code under test rejects
// with an error status; it reports a bug by crashing. FUZZ_CHECK turns a
// broken invariant (a history that re-imports differently, a replay that
// disagrees with the run that produced it) into such a crash, with a message
// on stderr saying which invariant and why:
//
//   FUZZ_CHECK(again.ok(), "re-import failed: " << again.status());
//
// libFuzzer then saves the input as a crash, and the corpus replay test
// (corpus_replay_main.cc) fails on it under plain GCC too.
//
// Thread safety: writes to stderr and aborts; use from one thread.
#ifndef RETRACE_COMMON_FUZZ_CHECK_H_
#define RETRACE_COMMON_FUZZ_CHECK_H_

#include <cstdlib>
#include <iostream>

#define FUZZ_CHECK(condition, message)                                    \
  do {                                                                    \
    if (!(condition)) {                                                   \
      std::cerr << __FILE__ << ":" << __LINE__                            \
                << ": fuzz invariant failed: " #condition ": " << message \
                << std::endl;                                             \
      std::abort();                                                       \
    }                                                                     \
  } while (false)

#endif  // RETRACE_COMMON_FUZZ_CHECK_H_
