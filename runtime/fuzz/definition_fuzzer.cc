// libFuzzer target for workflow definitions (runtime/definition.h): the input
// is a definition document. Every document must parse to a definition or to
// a list of problems without crashing. A definition that validates is then
// used as the engine would use it: a run is driven through it (RunDriver)
// with completions, failures, timeouts, timers, signals to its open waits and
// human tasks chosen by a generator seeded from the input, for at most
// kMaxMoves inputs. Invariants checked:
//   - every event the interpreter decides passes the history store's
//     validation and every driver input is accepted;
//   - replaying the history reaches exactly the state of the run that
//     produced it (StateJson);
//   - the history exports to a history file (JSON and binary) that imports
//     back to the same events.
// Build and run with tools/fuzz; //runtime/fuzz:definition_fuzz_corpus_test
// replays the seed corpus (testdata/fuzz/definition) under Bazel.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/fuzz/check.h"
#include "google/protobuf/util/message_differencer.h"
#include "history/history_file.h"
#include "runtime/definition.h"
#include "runtime/interpreter.h"
#include "runtime/replay.h"
#include "runtime/run_driver.h"

namespace retrace::runtime {
namespace {

using history::HistoryEvent;

constexpr int kMaxMoves = 48;

// The run's input: the fields the seed definitions read.
constexpr absl::string_view kRunInput =
    R"({"n": 2, "key": "k1", "orderId": "SO-1", "total": 42, "amount": 120,)"
    R"( "email": "a@example.com", "items": [{"sku": "A", "qty": 1}],)"
    R"( "customer": {"id": "c1", "tier": "gold"}, "page": 1})";

void CheckRoundTrip(const history::History& h,
                    history::HistoryFileFormat format) {
  absl::StatusOr<std::string> file = history::FormatHistoryFile(h, format);
  FUZZ_CHECK(file.ok(), "export failed: " << file.status());
  absl::StatusOr<history::History> again = history::ParseHistoryFile(*file);
  FUZZ_CHECK(again.ok(), "re-import failed: " << again.status() << "\n"
                                              << *file);
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  FUZZ_CHECK(differencer.Compare(h, *again), "re-import differs:\n"
                                                 << diff << "file:\n"
                                                 << *file);
}

// Chooses and applies one input. Returns false when there is nothing to do.
bool Move(RunDriver& d, const Definition& def, std::minstd_rand& rng) {
  auto pick = [&rng](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  std::vector<std::function<absl::Status()>> moves;
  if (d.finished()) {
    if (d.interpreter().status() != history::RUN_STATUS_FAILED) return false;
    moves.push_back([&d] { return d.RetryRun(); });
  } else {
    for (const HistoryEvent* s : d.OpenSteps()) {
      const std::string id = s->step_scheduled().step_id();
      moves.push_back([&d, id] { return d.CompleteStep(id, R"({"ok":1})"); });
      moves.push_back([&d, id] { return d.FailStep(id, "FLAKY"); });
      moves.push_back([&d, id] { return d.FailStep(id, "FATAL", true); });
      moves.push_back([&d, id] { return d.TimeOutStep(id); });
      moves.push_back([&d, id] { return d.StartStep(id, "w"); });
    }
    if (!d.OpenTimers().empty()) {
      moves.push_back([&d] { return d.FireNextTimer(); });
    }
    for (const HistoryEvent* w : d.OpenWaits()) {
      const auto& wait = w->wait_started();
      const std::string id = wait.wait_id();
      const std::string name = wait.event_name();
      const std::string key = wait.correlation_key();
      moves.push_back([&d, name, key] {
        return d.Signal(name, R"({"ok": true, "amount": 120})", key);
      });
      moves.push_back([&d, id] { return d.TimeOutWait(id); });
    }
    for (const HistoryEvent* t : d.OpenTasks()) {
      const std::string id = t->human_task_created().task_id();
      moves.push_back([&d, id] {
        return d.CompleteHumanTask(id, R"({"approved": true})");
      });
      moves.push_back([&d, id] { return d.TimeOutWait(id); });
    }
    if (def.goal.has_value() && !def.goal->event.empty()) {
      const std::string name = def.goal->event;
      moves.push_back([&d, name] { return d.Signal(name, "{}", "k1"); });
    }
    moves.push_back([&d] { return d.Signal("unrelated", "{}", "k1"); });
    if (pick(16) == 0) moves.push_back([&d] { return d.Cancel(); });
    if (pick(32) == 0) moves.push_back([&d] { return d.Terminate(); });
  }
  absl::Status s = moves[pick(moves.size())]();
  FUZZ_CHECK(s.ok(), "driver input rejected: " << s << "\nhistory:\n"
                                               << d.history().DebugString());
  return true;
}

void FuzzDefinition(absl::string_view json) {
  DefinitionResult parsed = ParseDefinition(json);
  FUZZ_CHECK(parsed.ok() == (parsed.definition != nullptr),
             "a result has both problems and a definition, or neither");
  if (!parsed.ok()) {
    (void)parsed.status();
    return;
  }
  std::minstd_rand rng(static_cast<uint32_t>(StableHash(json)));
  RunDriver d(parsed.definition, "default", "fuzz-run", std::string(kRunInput));
  absl::Status started = d.Start();
  FUZZ_CHECK(started.ok(), "start rejected: " << started);
  for (int i = 0; i < kMaxMoves; ++i) {
    if (!Move(d, *parsed.definition, rng)) break;
  }
  auto replayed = Replay(parsed.definition, d.history());
  FUZZ_CHECK(replayed.ok(), "replay failed: " << replayed.status());
  FUZZ_CHECK((*replayed)->StateJson() == d.interpreter().StateJson(),
             "replay reached a different state:\n"
                 << (*replayed)->StateJson() << "\nvs\n"
                 << d.interpreter().StateJson());
  CheckRoundTrip(d.history(), history::HistoryFileFormat::kJson);
  CheckRoundTrip(d.history(), history::HistoryFileFormat::kBinary);
}

}  // namespace
}  // namespace retrace::runtime

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  retrace::runtime::FuzzDefinition(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
