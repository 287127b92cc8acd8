// The conformance suite every HistoryStore implementation passes. An
// implementation's test instantiates it with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(
//       RocksDb, HistoryStoreConformanceTest,
//       ::testing::Values(StoreFactory{"rocksdb", [](const StoreOptions& o) {
//         return OpenRocksDbHistoryStore(NewTempDir(), o).value(); }}));
#ifndef RETRACE_HISTORY_HISTORY_STORE_CONFORMANCE_H_
#define RETRACE_HISTORY_HISTORY_STORE_CONFORMANCE_H_

#include <functional>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "history/history_store.h"

namespace retrace::history::testing {

struct StoreFactory {
  std::string name;
  // Returns a new, empty store with the given options.
  std::function<std::unique_ptr<HistoryStore>(const StoreOptions&)> open;
};

class HistoryStoreConformanceTest
    : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override { store_ = GetParam().open(StoreOptions()); }
  std::unique_ptr<HistoryStore> store_;
};

}  // namespace retrace::history::testing

#endif  // RETRACE_HISTORY_HISTORY_STORE_CONFORMANCE_H_
