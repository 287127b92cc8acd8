#include "history/memory_store.h"

#include "history/history_store_conformance.h"

namespace retrace::history::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(InMemory, HistoryStoreConformanceTest,
                         ::testing::Values(StoreFactory{
                             "memory",
                             [](const StoreOptions& options) {
                               return NewInMemoryHistoryStore(options);
                             }}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace retrace::history::testing
