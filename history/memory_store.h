// An in-memory HistoryStore for fast tests. It enforces exactly the rules of
// the RocksDB store (both pass history_store_conformance.h) but keeps nothing
// across processes.
//
// Thread safety: as HistoryStore (one mutex inside).
#ifndef RETRACE_HISTORY_MEMORY_STORE_H_
#define RETRACE_HISTORY_MEMORY_STORE_H_

#include <memory>

#include "history/history_store.h"

namespace retrace::history {

std::unique_ptr<HistoryStore> NewInMemoryHistoryStore(
    const StoreOptions& options = {});

}  // namespace retrace::history

#endif  // RETRACE_HISTORY_MEMORY_STORE_H_
