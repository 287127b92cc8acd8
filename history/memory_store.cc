#include "history/memory_store.h"

#include <array>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "history/internal/keys.h"
#include "history/validation.h"

namespace retrace::history {
namespace {

using internal::HistoryKey;
using internal::HistoryPrefix;
using internal::RunKey;

// Iterators own a snapshot of what they iterate over, so they stay valid
// while other threads append.
class VectorEventIterator : public EventIterator {
 public:
  explicit VectorEventIterator(std::vector<HistoryEvent> events)
      : events_(std::move(events)) {}
  bool Valid() const override { return pos_ < events_.size(); }
  const HistoryEvent& event() const override { return events_[pos_]; }
  void Next() override { ++pos_; }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  std::vector<HistoryEvent> events_;
  size_t pos_ = 0;
};

class VectorKeyIterator : public KeyIterator {
 public:
  explicit VectorKeyIterator(
      std::vector<std::pair<std::string, std::string>> rows)
      : rows_(std::move(rows)) {}
  bool Valid() const override { return pos_ < rows_.size(); }
  absl::string_view key() const override { return rows_[pos_].first; }
  absl::string_view value() const override { return rows_[pos_].second; }
  void Next() override { ++pos_; }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  std::vector<std::pair<std::string, std::string>> rows_;
  size_t pos_ = 0;
};

class InMemoryHistoryStore : public HistoryStore {
 public:
  explicit InMemoryHistoryStore(const StoreOptions& options)
      : options_(options) {}

  absl::StatusOr<RunInfo> Append(const AppendRequest& request) override {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(std::vector<RunInfo> infos,
                     AppendLocked({&request, 1}, {}));
    return std::move(infos.front());
  }

  absl::StatusOr<std::vector<RunInfo>> AppendBatch(
      const std::vector<AppendRequest>& requests,
      const std::vector<Mutation>& writes) override {
    RETURN_IF_ERROR(CheckDistinctRuns(requests));
    absl::MutexLock lock(&mu_);
    return AppendLocked(requests, writes);
  }

  absl::Status Write(const std::vector<Mutation>& writes) override {
    absl::MutexLock lock(&mu_);
    ApplyLocked(writes);
    return absl::OkStatus();
  }

  absl::StatusOr<RunInfo> GetRunInfo(absl::string_view ns,
                                     absl::string_view run_id) override {
    absl::MutexLock lock(&mu_);
    auto it = runs_.find(RunKey(ns, run_id));
    if (it == runs_.end()) {
      return Error(absl::StatusCode::kNotFound, "RUN_NOT_FOUND",
                   absl::StrCat("run ", ns, "/", run_id, " does not exist"));
    }
    return it->second;
  }

  std::unique_ptr<EventIterator> ReadHistory(absl::string_view ns,
                                             absl::string_view run_id,
                                             int64_t from_event_id) override {
    absl::MutexLock lock(&mu_);
    std::vector<HistoryEvent> events;
    const std::string prefix = HistoryPrefix(ns, run_id);
    for (auto it = events_.lower_bound(
             HistoryKey(ns, run_id, std::max<int64_t>(from_event_id, 0)));
         it != events_.end() && absl::StartsWith(it->first, prefix); ++it) {
      events.push_back(it->second);
    }
    return std::make_unique<VectorEventIterator>(std::move(events));
  }

  absl::StatusOr<RunPage> ListRuns(absl::string_view ns,
                                   absl::string_view cursor,
                                   int limit) override {
    RETURN_IF_ERROR(ValidateIdentifier("namespace", ns));
    absl::MutexLock lock(&mu_);
    RunPage page;
    const std::string prefix = absl::StrCat(ns, absl::string_view("\0", 1));
    auto it = runs_.upper_bound(RunKey(ns, cursor));
    for (; it != runs_.end() && absl::StartsWith(it->first, prefix); ++it) {
      if (static_cast<int>(page.runs.size()) == limit) {
        page.next_cursor = page.runs.back().run_id();
        break;
      }
      page.runs.push_back(it->second);
    }
    return page;
  }

  absl::StatusOr<RunPage> ListAllRuns(absl::string_view cursor,
                                      int limit) override {
    absl::MutexLock lock(&mu_);
    RunPage page;
    for (auto it = runs_.upper_bound(std::string(cursor)); it != runs_.end();
         ++it) {
      if (static_cast<int>(page.runs.size()) == limit) {
        page.next_cursor =
            RunKey(page.runs.back().namespace_(), page.runs.back().run_id());
        break;
      }
      page.runs.push_back(it->second);
    }
    return page;
  }

  absl::StatusOr<std::optional<std::string>> Get(
      KeySpace space, absl::string_view key) override {
    absl::MutexLock lock(&mu_);
    const auto& rows = spaces_[static_cast<int>(space)];
    auto it = rows.find(std::string(key));
    if (it == rows.end()) return std::nullopt;
    return it->second;
  }

  std::unique_ptr<KeyIterator> Scan(KeySpace space, absl::string_view start,
                                    absl::string_view end) override {
    absl::MutexLock lock(&mu_);
    const auto& rows = spaces_[static_cast<int>(space)];
    std::vector<std::pair<std::string, std::string>> out;
    for (auto it = rows.lower_bound(std::string(start));
         it != rows.end() && (end.empty() || it->first < end); ++it) {
      out.emplace_back(it->first, it->second);
    }
    return std::make_unique<VectorKeyIterator>(std::move(out));
  }

 private:
  // Validates every request, then applies them all and `writes`: nothing is
  // applied if one request fails.
  absl::StatusOr<std::vector<RunInfo>> AppendLocked(
      absl::Span<const AppendRequest> requests,
      const std::vector<Mutation>& writes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<RunInfo> infos;
    for (const AppendRequest& request : requests) {
      auto it = runs_.find(RunKey(request.ns, request.run_id));
      ASSIGN_OR_RETURN(RunInfo info,
                       ValidateAppend(it == runs_.end() ? nullptr : &it->second,
                                      request, options_));
      infos.push_back(std::move(info));
    }
    for (size_t i = 0; i < requests.size(); ++i) {
      const AppendRequest& request = requests[i];
      for (const HistoryEvent& event : request.events) {
        events_[HistoryKey(request.ns, request.run_id, event.event_id())] =
            event;
      }
      ApplyLocked(request.writes);
      runs_[RunKey(request.ns, request.run_id)] = infos[i];
    }
    ApplyLocked(writes);
    return infos;
  }

  void ApplyLocked(const std::vector<Mutation>& writes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const Mutation& m : writes) {
      auto& rows = spaces_[static_cast<int>(m.space)];
      if (m.value.has_value()) {
        rows[m.key] = *m.value;
      } else {
        rows.erase(m.key);
      }
    }
  }

  const StoreOptions options_;
  absl::Mutex mu_;
  std::map<std::string, RunInfo> runs_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, HistoryEvent> events_ ABSL_GUARDED_BY(mu_);
  std::array<std::map<std::string, std::string>, kNumKeySpaces> spaces_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<HistoryStore> NewInMemoryHistoryStore(
    const StoreOptions& options) {
  return std::make_unique<InMemoryHistoryStore>(options);
}

}  // namespace retrace::history
