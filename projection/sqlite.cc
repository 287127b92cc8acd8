#include "projection/sqlite.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace retrace::projection {
namespace {

absl::Status SqlError(sqlite3* db, absl::string_view what) {
  return Error(
      absl::StatusCode::kInternal, "PROJECTION_SQL",
      absl::StrCat(what, ": ", db ? sqlite3_errmsg(db) : "no database"));
}

}  // namespace

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, absl::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindStatic(int index, absl::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                    SQLITE_STATIC);
  return *this;
}

Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Statement& Statement::BindOptional(int index,
                                   const std::optional<std::string>& value) {
  return value.has_value() ? Bind(index, absl::string_view(*value))
                           : BindNull(index);
}

absl::StatusOr<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqlError(db_, absl::StrCat("statement ", sqlite3_sql(stmt_)));
}

absl::Status Statement::Run() {
  absl::StatusOr<bool> r = Step();
  Reset();
  return r.status();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::Int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::optional<int64_t> Statement::OptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

int Statement::ColumnCount() const { return sqlite3_column_count(stmt_); }

absl::StatusOr<std::unique_ptr<Database>> Database::Open(
    const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    absl::Status s = SqlError(db, absl::StrCat("opening ", path));
    sqlite3_close(db);
    return s;
  }
  auto database = std::unique_ptr<Database>(new Database(db));
  // WAL: readers (queries) do not block the writer. synchronous=FULL: the
  // WAL is synced at every commit, before the writer deletes the outbox rows
  // it applied.
  if (path != ":memory:") {
    if (absl::Status s = database->Exec("PRAGMA journal_mode=WAL"); !s.ok())
      return s;
    if (absl::Status s = database->Exec("PRAGMA synchronous=FULL"); !s.ok())
      return s;
  }
  if (absl::Status s = database->Exec("PRAGMA foreign_keys=ON"); !s.ok())
    return s;
  sqlite3_busy_timeout(db, 5000);
  return database;
}

Database::~Database() { sqlite3_close(db_); }

absl::Status Database::Exec(absl::string_view sql) {
  char* message = nullptr;
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) !=
      SQLITE_OK) {
    std::string m = message ? message : "unknown error";
    sqlite3_free(message);
    return Error(absl::StatusCode::kInternal, "PROJECTION_SQL",
                 absl::StrCat(m, " in: ", text.substr(0, 120)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Statement> Database::Prepare(absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt,
                         nullptr) != SQLITE_OK) {
    return SqlError(db_, absl::StrCat("preparing ", sql));
  }
  return Statement(db_, stmt);
}

}  // namespace retrace::projection
