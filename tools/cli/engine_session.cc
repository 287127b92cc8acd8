#include "tools/cli/engine_session.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "history/rocksdb_store.h"

namespace retrace::cli {

absl::StatusOr<EngineSession> OpenEngine(const std::string& db, bool sync,
                                         bool timer_thread) {
  EngineSession session;
  history::StoreOptions store_options;
  store_options.sync = sync;
  ASSIGN_OR_RETURN(session.store,
                   history::OpenRocksDbHistoryStore(db, store_options));
  runtime::EngineOptions options;
  options.timer_thread = timer_thread;
  ASSIGN_OR_RETURN(session.engine,
                   runtime::Engine::Open(session.store.get(), options));
  return session;
}

std::string ProjectionPath(absl::string_view store_dir) {
  while (store_dir.size() > 1 && store_dir.back() == '/') {
    store_dir.remove_suffix(1);
  }
  return absl::StrCat(store_dir, ".sqlite");
}

std::string FormatLag(const projection::OutboxLag& lag, absl::Time now) {
  if (lag.rows == 0 || !lag.oldest.has_value()) {
    return absl::StrCat(lag.rows, " rows");
  }
  const absl::Duration age =
      std::max(absl::ZeroDuration(),
               absl::Floor(now - *lag.oldest, absl::Milliseconds(1)));
  return absl::StrCat(lag.rows, " rows, oldest ", absl::FormatDuration(age));
}

absl::StatusOr<std::unique_ptr<projection::ReadModelWriter>> StartProjection(
    const Args& args, bool fallback, history::HistoryStore* store,
    const std::string& db) {
  ASSIGN_OR_RETURN(bool on, BoolOption(args, "projection", fallback));
  if (!on) return std::unique_ptr<projection::ReadModelWriter>();
  return projection::ReadModelWriter::Start(store, ProjectionPath(db));
}

std::string ProjectionSummary(projection::ReadModelWriter& writer,
                              const absl::Status& stopped,
                              history::HistoryStore* store) {
  std::string text =
      absl::StrCat(writer.stats().rows_applied, " outbox rows applied");
  if (!stopped.ok()) {
    absl::StrAppend(&text, "; stopped by ", stopped.message());
  }
  absl::StatusOr<projection::OutboxLag> lag =
      projection::MeasureOutboxLag(store);
  if (lag.ok()) absl::StrAppend(&text, "; lag ", FormatLag(*lag, absl::Now()));
  return text;
}

absl::Status UsageError(absl::string_view message) {
  return Error(absl::StatusCode::kInvalidArgument, "USAGE", message);
}

absl::StatusOr<bool> BoolOption(const Args& args, absl::string_view name,
                                bool fallback) {
  if (!args.Has(name)) return fallback;
  const std::string value = absl::AsciiStrToLower(args.Get(name));
  if (value == "true" || value == "1" || value == "yes") return true;
  if (value == "false" || value == "0" || value == "no") return false;
  return UsageError(
      absl::StrCat("--", name, " takes true or false, not '", value, "'"));
}

absl::StatusOr<int64_t> IntOption(const Args& args, absl::string_view name,
                                  int64_t fallback, int64_t min) {
  if (!args.Has(name)) return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(args.Get(name), &value) || value < min) {
    return UsageError(absl::StrCat("--", name, " takes a whole number >= ", min,
                                   ", not '", args.Get(name), "'"));
  }
  return value;
}

absl::StatusOr<absl::Duration> DurationOption(const Args& args,
                                              absl::string_view name,
                                              absl::Duration fallback) {
  if (!args.Has(name)) return fallback;
  absl::Duration d;
  if (!absl::ParseDuration(args.Get(name), &d) || d < absl::ZeroDuration()) {
    return UsageError(absl::StrCat("--", name,
                                   " takes a duration such as 500ms or 2s, "
                                   "not '",
                                   args.Get(name), "'"));
  }
  return d;
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  return ReadFileToString(path);
}

absl::StatusOr<std::string> MakeTempDir(absl::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(base && *base ? base : "/tmp", "/", prefix, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return Error(absl::StatusCode::kUnavailable, "FILE_IO",
                 absl::StrCat("cannot create a directory like ", pattern));
  }
  return pattern;
}

absl::Duration Quantile(const std::vector<absl::Duration>& sorted, double q) {
  if (sorted.empty()) return absl::ZeroDuration();
  size_t i = static_cast<size_t>(q * (sorted.size() - 1) + 0.5);
  if (i >= sorted.size()) i = sorted.size() - 1;
  return sorted[i];
}

std::string FormatLatency(absl::Duration d) {
  const double ms = absl::ToDoubleMilliseconds(d);
  if (ms < 10) return absl::StrFormat("%.2f ms", ms);
  if (ms < 1000) return absl::StrFormat("%.1f ms", ms);
  return absl::StrFormat("%.2f s", ms / 1000);
}

}  // namespace retrace::cli
