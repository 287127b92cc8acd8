// Time for the engine: the real clock, or a manual one for tests that skip
// time (a 2-hour wait passes in microseconds).
//
// Thread safety: both clocks are safe to use from any thread.
#ifndef RETRACE_RUNTIME_CLOCK_H_
#define RETRACE_RUNTIME_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace retrace::runtime {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  // A process-wide instance.
  static const SystemClock* Get() {
    static const SystemClock* clock = new SystemClock();
    return clock;
  }
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::FromUnixSeconds(1767323045))
      : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  // REQUIRES: d >= 0.
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_CLOCK_H_
