#include "tools/cli/expected_log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace retrace::cli {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

absl::Status FileError(absl::string_view what, const std::string& path) {
  return Error(absl::StatusCode::kUnavailable, "FILE_IO",
               absl::StrCat(what, " ", path, ": ", strerror(errno)));
}

void Str(Writer& w, const char* key, const std::string& value) {
  if (value.empty()) return;
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void Array(Writer& w, const char* key, const std::vector<std::string>& items) {
  w.Key(key);
  w.StartArray();
  for (const std::string& s : items) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  }
  w.EndArray();
}

std::string GetStr(const rapidjson::Value& o, const char* key) {
  auto it = o.FindMember(key);
  if (it == o.MemberEnd() || !it->value.IsString()) return "";
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

int64_t GetInt(const rapidjson::Value& o, const char* key) {
  auto it = o.FindMember(key);
  if (it == o.MemberEnd() || !it->value.IsInt64()) return 0;
  return it->value.GetInt64();
}

std::vector<std::string> GetArray(const rapidjson::Value& o, const char* key) {
  std::vector<std::string> out;
  auto it = o.FindMember(key);
  if (it == o.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& v : it->value.GetArray()) {
    if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
  }
  return out;
}

}  // namespace

std::string ToJsonLine(const ExpectedOp& op) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Str(w, "op", op.op);
  if (op.op == "session") {
    w.Key("seed");
    w.Int64(op.seed);
    w.Key("pid");
    w.Int64(op.pid);
    Str(w, "at", op.at);
  }
  Str(w, "run", op.run_id);
  Str(w, "workflow", op.workflow);
  Str(w, "version", op.version);
  Str(w, "dedupe_key", op.dedupe_key);
  Str(w, "event", op.event_id);
  Str(w, "name", op.event_name);
  Str(w, "key", op.correlation_key);
  Str(w, "payload", op.payload_json);
  Str(w, "step_path", op.step_path);
  Str(w, "task", op.task_id);
  if (op.attempt != 0) {
    w.Key("attempt");
    w.Int64(op.attempt);
  }
  Str(w, "outcome", op.outcome);
  if (op.op == "signal") {
    Array(w, "matched", op.matched);
    Array(w, "resumed", op.resumed);
    Array(w, "started", op.started);
  }
  Str(w, "error", op.error);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::StatusOr<ExpectedOp> FromJsonLine(const std::string& line) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return Error(absl::StatusCode::kInvalidArgument, "INVALID_JSON",
                 "the line is not a JSON object");
  }
  ExpectedOp op;
  op.op = GetStr(doc, "op");
  op.seed = GetInt(doc, "seed");
  op.pid = GetInt(doc, "pid");
  op.at = GetStr(doc, "at");
  op.run_id = GetStr(doc, "run");
  op.workflow = GetStr(doc, "workflow");
  op.version = GetStr(doc, "version");
  op.dedupe_key = GetStr(doc, "dedupe_key");
  op.event_id = GetStr(doc, "event");
  op.event_name = GetStr(doc, "name");
  op.correlation_key = GetStr(doc, "key");
  op.payload_json = GetStr(doc, "payload");
  op.step_path = GetStr(doc, "step_path");
  op.attempt = GetInt(doc, "attempt");
  op.task_id = GetStr(doc, "task");
  op.outcome = GetStr(doc, "outcome");
  op.matched = GetArray(doc, "matched");
  op.resumed = GetArray(doc, "resumed");
  op.started = GetArray(doc, "started");
  op.error = GetStr(doc, "error");
  return op;
}

absl::StatusOr<ExpectedLog> ReadExpectedLog(const std::string& path) {
  ExpectedLog log;
  std::ifstream in(path);
  if (!in) {
    if (access(path.c_str(), F_OK) != 0) return log;  // no log yet
    return FileError("cannot read", path);
  }
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    absl::StatusOr<ExpectedOp> op = FromJsonLine(line);
    if (!op.ok()) {
      ++log.torn_lines;
      continue;
    }
    op->line = n;
    log.ops.push_back(*std::move(op));
  }
  if (in.bad()) return FileError("cannot read", path);
  return log;
}

absl::StatusOr<std::unique_ptr<ExpectedLogWriter>> ExpectedLogWriter::Open(
    const std::string& path) {
  const int fd =
      open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return FileError("cannot open", path);
  // A kill in the middle of a write can leave the last line unterminated:
  // end it, so the next line starts on a line of its own.
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size > 0) {
    char last = '\n';
    if (pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
      if (write(fd, "\n", 1) != 1) {
        close(fd);
        return FileError("cannot write", path);
      }
    }
  }
  return std::unique_ptr<ExpectedLogWriter>(new ExpectedLogWriter(fd));
}

ExpectedLogWriter::~ExpectedLogWriter() { close(fd_); }

int64_t ExpectedLogWriter::lines_written() const {
  absl::MutexLock lock(&mu_);
  return synced_;
}

absl::Status ExpectedLogWriter::Append(const ExpectedOp& op) {
  return Append(std::vector<ExpectedOp>{op});
}

absl::Status ExpectedLogWriter::Append(const std::vector<ExpectedOp>& ops) {
  std::string lines;
  for (const ExpectedOp& op : ops)
    absl::StrAppend(&lines, ToJsonLine(op), "\n");
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  pending_ += lines;
  appended_ += static_cast<int64_t>(ops.size());
  const int64_t mine = appended_;
  // Group commit: whoever finds no flush in progress writes and syncs
  // everything pending, including the lines of those waiting behind it.
  while (synced_ < mine && error_.ok()) {
    if (flushing_) {
      synced_cv_.Wait(&mu_);
      continue;
    }
    flushing_ = true;
    std::string batch;
    batch.swap(pending_);
    const int64_t upto = appended_;
    mu_.Unlock();
    absl::Status s;
    size_t done = 0;
    while (done < batch.size()) {
      const ssize_t n = write(fd_, batch.data() + done, batch.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        s = FileError("cannot append to", "the expected-state log");
        break;
      }
      done += static_cast<size_t>(n);
    }
    if (s.ok() && fdatasync(fd_) != 0) {
      s = FileError("cannot sync", "the expected-state log");
    }
    mu_.Lock();
    flushing_ = false;
    if (s.ok()) {
      synced_ = upto;
    } else {
      error_ = s;
    }
    synced_cv_.SignalAll();
  }
  return error_;
}

}  // namespace retrace::cli
