#include "tools/cli/signal_commands.h"

#include <fstream>
#include <memory>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "history/rocksdb_store.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "runtime/engine.h"
#include "signals/correlation.h"
#include "signals/ingress.h"
#include "signals/ndjson.h"
#include "tools/cli/args.h"
#include "tools/cli/cli.h"

namespace retrace::cli {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void StringArray(Writer& w, const char* key,
                 const google::protobuf::RepeatedPtrField<std::string>& items) {
  w.Key(key);
  w.StartArray();
  for (const auto& s : items) w.String(s.c_str());
  w.EndArray();
}

struct Totals {
  int64_t lines = 0, accepted = 0, rejected = 0, duplicates = 0, matched = 0,
          resumed = 0, started = 0, unresolved = 0;
};

// One result line.
std::string ResultLine(int64_t line,
                       const absl::StatusOr<signals::IngestResult>& r,
                       Totals* totals) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("line");
  w.Int64(line);
  if (!r.ok()) {
    ++totals->rejected;
    w.Key("error");
    w.String(ErrorCode(r.status()).c_str());
    w.Key("message");
    w.String(std::string(r.status().message()).c_str());
    w.EndObject();
    return buffer.GetString();
  }
  ++totals->accepted;
  const auto& a = r->audit;
  w.Key("event_id");
  w.String(r->event_id.c_str());
  w.Key("duplicate");
  w.Bool(r->duplicate);
  w.Key("key");
  w.String(a.correlation_key().c_str());
  w.Key("source");
  w.String(a.key_source().c_str());
  StringArray(w, "matched", a.matched_run_ids());
  StringArray(w, "resumed", a.resumed_run_ids());
  StringArray(w, "started", a.started_run_ids());
  if (a.skipped_triggers_size() > 0)
    StringArray(w, "skipped_triggers", a.skipped_triggers());
  w.Key("error");
  if (a.error_code().empty()) {
    w.Null();
  } else {
    w.String(a.error_code().c_str());
  }
  w.EndObject();
  if (r->duplicate) {
    ++totals->duplicates;
  } else {
    totals->matched += a.matched_run_ids_size();
    totals->resumed += a.resumed_run_ids_size();
    totals->started += a.started_run_ids_size();
    totals->unresolved += a.error_code() == "CORRELATION_UNRESOLVED";
  }
  return buffer.GetString();
}

struct Stack {
  std::unique_ptr<history::HistoryStore> store;
  std::unique_ptr<runtime::Engine> engine;
  std::unique_ptr<signals::SignalIngress> ingress;
};

absl::StatusOr<Stack> Open(const Args& args) {
  Stack s;
  ASSIGN_OR_RETURN(
      signals::CorrelationConfig config,
      signals::CorrelationConfig::Load(args.Get("correlation-config")));
  ASSIGN_OR_RETURN(
      s.store, history::OpenRocksDbHistoryStore(args.Get("db", "./.retrace")));
  ASSIGN_OR_RETURN(s.engine, runtime::Engine::Open(s.store.get()));
  s.ingress = std::make_unique<signals::SignalIngress>(
      s.engine.get(), s.store.get(), std::move(config));
  return s;
}

int Fail(std::ostream& err, const absl::Status& s) {
  err << "retrace signal: " << s.message() << "\n";
  return ErrorCode(s) == "USAGE" ? kExitUsage : kExitFailure;
}

}  // namespace

int RunSignalCommand(const std::vector<std::string>& argv, std::istream& in,
                     std::ostream& out, std::ostream& err) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "help") {
    (argv.empty() ? err : out) << kSignalUsage;
    return argv.empty() ? kExitUsage : kExitOk;
  }
  const std::string command = argv[0];
  absl::StatusOr<Args> args =
      Args::Parse(std::vector<std::string>(argv.begin() + 1, argv.end()),
                  {"db", "namespace", "correlation-config", "batch", "payload",
                   "key", "id"},
                  {"strict", "help"});
  if (!args.ok()) {
    err << "retrace signal: " << args.status().message() << "\n"
        << kSignalUsage;
    return kExitUsage;
  }
  if (args->Has("help")) {
    out << kSignalUsage;
    return kExitOk;
  }
  const std::string ns = args->Get("namespace", "default");
  if (command == "send") {
    if (args->positional().size() != 1) {
      err << "retrace signal send: give one event NAME\n" << kSignalUsage;
      return kExitUsage;
    }
    absl::StatusOr<Stack> stack = Open(*args);
    if (!stack.ok()) return Fail(err, stack.status());
    signals::Event e;
    e.name = args->positional()[0];
    e.ns = ns;
    e.payload_json = args->Get("payload", "null");
    e.correlation_key = args->Get("key");
    e.id = args->Get("id");
    if (e.id.empty()) {
      absl::BitGen gen;
      e.id = absl::StrCat(
          "evt-", absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16));
    }
    auto results = stack->ingress->Ingest({e});
    if (!results.ok()) return Fail(err, results.status());
    Totals totals;
    out << ResultLine(1, (*results)[0], &totals) << "\n";
    return totals.rejected == 0 ? kExitOk : kExitFailure;
  }
  if (command != "ingest") {
    err << "retrace signal: unknown command '" << command << "'\n"
        << kSignalUsage;
    return kExitUsage;
  }
  int64_t batch_size = 1000;
  if (args->Has("batch") &&
      (!absl::SimpleAtoi(args->Get("batch"), &batch_size) || batch_size < 1)) {
    err << "retrace signal ingest: --batch takes a number >= 1\n";
    return kExitUsage;
  }
  absl::StatusOr<Stack> stack = Open(*args);
  if (!stack.ok()) return Fail(err, stack.status());
  std::vector<std::string> files = args->positional();
  if (files.empty()) files.push_back("-");
  const bool strict = args->Has("strict");
  Totals totals;
  const absl::Time start = absl::Now();
  std::vector<signals::Event> batch;
  std::vector<int64_t> batch_lines;
  bool stop = false;
  auto flush = [&]() -> absl::Status {
    if (batch.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(auto results, stack->ingress->Ingest(batch));
    for (size_t i = 0; i < results.size(); ++i) {
      out << ResultLine(batch_lines[i], results[i], &totals) << "\n";
    }
    batch.clear();
    batch_lines.clear();
    return absl::OkStatus();
  };
  for (const std::string& file : files) {
    if (absl::Status s = flush(); !s.ok()) return Fail(err, s);
    std::ifstream stream;
    std::istream* source = &in;
    if (file != "-") {
      stream.open(file);
      if (!stream) {
        err << "retrace signal ingest: cannot open " << file << "\n";
        return kExitFailure;
      }
      source = &stream;
    }
    std::string line;
    int64_t line_no = 0;  // physical line in this file
    while (!stop && std::getline(*source, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      ++totals.lines;
      absl::StatusOr<signals::Event> e = signals::ParseEventLine(line, ns);
      if (!e.ok()) {
        // Earlier good lines go first, so output stays in line order.
        if (absl::Status s = flush(); !s.ok()) return Fail(err, s);
        out << ResultLine(line_no, e.status(), &totals) << "\n";
        if (strict) stop = true;
        continue;
      }
      batch.push_back(*std::move(e));
      batch_lines.push_back(line_no);
      if (static_cast<int64_t>(batch.size()) >= batch_size) {
        if (absl::Status s = flush(); !s.ok()) return Fail(err, s);
      }
    }
  }
  if (absl::Status s = flush(); !s.ok()) return Fail(err, s);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  out << absl::StrCat(
             R"({"summary":{"lines":)", totals.lines, R"(,"accepted":)",
             totals.accepted, R"(,"rejected":)", totals.rejected,
             R"(,"duplicates":)", totals.duplicates, R"(,"matched":)",
             totals.matched, R"(,"resumed":)", totals.resumed, R"(,"started":)",
             totals.started, R"(,"unresolved":)", totals.unresolved,
             R"(,"seconds":)", absl::StrFormat("%.3f", seconds),
             R"(,"events_per_second":)",
             static_cast<int64_t>(seconds > 0 ? totals.accepted / seconds : 0),
             "}}")
      << "\n";
  return totals.rejected == 0 && !stop ? kExitOk : kExitFailure;
}

}  // namespace retrace::cli
