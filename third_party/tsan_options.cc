// ThreadSanitizer's defaults for every binary built with --config=tsan
// (linked through //third_party:tsan_options;
// docs/building.md#threadsanitizer). TSAN_OPTIONS in the environment still
// overrides them.

// Debian's shared libraries (libstdc++, protobuf, RocksDB, SQLite) are not
// built with TSan. RocksDB hands memory between threads with its own atomics
// (the write group's leader copies the followers' batches into the memtable,
// readers walk the memtable lock-free), which TSan cannot see, so the copies
// it makes through intercepted functions (memcpy, memcmp) from those
// libraries read as races. ignore_noninstrumented_modules makes TSan check
// only accesses made by code it instrumented: ours and Abseil's (built from
// source for this configuration), which is where our races would be.
extern "C" const char* __tsan_default_options() {
  return "ignore_noninstrumented_modules=1:second_deadlock_stack=1";
}

// Abseil 20220623's Mutex wakes a waiting thread through that thread's
// identity block, which TSan never saw being handed over (it happens inside
// the Mutex, where TSan ignores synchronization), so the wake-up reads as a
// race with the block's allocation. Upstream Abseil later fixed this by
// ignoring all accesses in Mutex::IncrementSynchSem; this does the same.
extern "C" const char* __tsan_default_suppressions() {
  return "race:absl::*Mutex::IncrementSynchSem\n";
}
