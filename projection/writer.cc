#include "projection/writer.h"

#include <utility>

#include "common/status_macros.h"

namespace retrace::projection {

absl::StatusOr<std::unique_ptr<ReadModelWriter>> ReadModelWriter::Start(
    history::HistoryStore* store, const std::string& path,
    const WriterOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<ReadModels> models,
                   ReadModels::Open(store, path));
  auto writer = std::unique_ptr<ReadModelWriter>(
      new ReadModelWriter(std::move(models), options));
  writer->thread_ = std::thread([w = writer.get()] { w->Loop(); });
  return writer;
}

ReadModelWriter::ReadModelWriter(std::unique_ptr<ReadModels> models,
                                 const WriterOptions& options)
    : models_(std::move(models)), options_(options) {}

ReadModelWriter::~ReadModelWriter() { Stop(/*drain=*/false).IgnoreError(); }

absl::StatusOr<int> ReadModelWriter::ApplyOnce() {
  absl::StatusOr<int> n = models_->ApplyOutbox(options_.batch_rows);
  absl::MutexLock lock(&mu_);
  if (!n.ok()) {
    ++stats_.failures;
    stats_.last_error = n.status();
  } else if (*n > 0) {
    ++stats_.batches;
    stats_.rows_applied += *n;
  }
  return n;
}

void ReadModelWriter::Loop() {
  for (;;) {
    absl::StatusOr<int> n = ApplyOnce();
    // A full batch: more is probably waiting, go on at once. Otherwise the
    // outbox was empty when read: sleep until the next poll (or a stop).
    absl::Duration pause = absl::ZeroDuration();
    if (!n.ok()) {
      pause = options_.retry_interval;
    } else if (*n < options_.batch_rows) {
      pause = options_.poll_interval;
    }
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    if (pause > absl::ZeroDuration()) {
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), pause);
      if (stopping_) return;
    }
  }
}

absl::Status ReadModelWriter::Stop(bool drain) {
  if (joined_) return absl::OkStatus();
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  joined_ = true;
  if (!drain) return absl::OkStatus();
  // On this thread now that the writer's has ended.
  for (;;) {
    absl::StatusOr<int> n = ApplyOnce();
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::OkStatus();
  }
}

WriterStats ReadModelWriter::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace retrace::projection
