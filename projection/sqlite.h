// A small RAII layer over SQLite's C API for the read models. Errors become
// absl::Status with code PROJECTION_SQL naming the statement's purpose.
//
// Thread safety: a Database is used by one thread at a time (the writer or a
// query); open one per thread.
#ifndef RETRACE_PROJECTION_SQLITE_H_
#define RETRACE_PROJECTION_SQLITE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace retrace::projection {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // Binds parameter `index` (1-based). Text is copied.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, absl::string_view value);
  // Binds text without copying it. REQUIRES: `value` stays alive and
  // unchanged until the statement is reset (Run or Reset).
  Statement& BindStatic(int index, absl::string_view value);
  Statement& BindNull(int index);
  Statement& BindOptional(int index, const std::optional<std::string>& value);
  Statement& Bind(int index, const std::string& value) {
    return Bind(index, absl::string_view(value));
  }
  Statement& Bind(int index, const char* value) {
    return Bind(index, absl::string_view(value));
  }
  Statement& Bind(int index, const std::optional<std::string>& value) {
    return BindOptional(index, value);
  }
  // NULL when absent.
  Statement& Bind(int index, std::optional<int64_t> value) {
    return value.has_value() ? Bind(index, *value) : BindNull(index);
  }

  // Steps once: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Runs to completion (for writes) and resets for reuse.
  absl::Status Run();
  void Reset();

  int64_t Int(int column) const;
  std::string Text(int column) const;
  bool IsNull(int column) const;
  // Absent for NULL.
  std::optional<int64_t> OptionalInt(int column) const;
  int ColumnCount() const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class Database {
 public:
  // Opens (creating) the database file at `path`; ":memory:" for tests.
  // Files are put in WAL mode with synchronous=FULL: each commit is durable
  // when it returns (docs/projections.md#durability says why the writer
  // needs that).
  static absl::StatusOr<std::unique_ptr<Database>> Open(
      const std::string& path);
  ~Database();

  absl::Status Exec(absl::string_view sql);
  absl::StatusOr<Statement> Prepare(absl::string_view sql);

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace retrace::projection

#endif  // RETRACE_PROJECTION_SQLITE_H_
