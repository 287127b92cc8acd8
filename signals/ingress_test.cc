#include "signals/ingress.h"

#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/test_env.h"
#include "signals/ndjson.h"

namespace retrace::signals {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::retrace::testing::TestEnv;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kWaiter[] = R"({"name": "waiter", "version": "1", "steps": [
  {"id": "pay", "type": "event.wait", "event": "payment.settled",
   "correlation": "input.order", "filter": "event.payload.amount >= input.amount",
   "timeout": "1h"},
  {"id": "r", "type": "control.return", "output": "steps.pay.output.payload.amount"}]})";

constexpr char kTriggered[] = R"({"name": "onboarding", "version": "1",
  "trigger": {"event": "customer.signed_up", "guard": "payload.optIn = true",
              "dedupe_key": "payload.customer", "dedupe_window": "1d"},
  "steps": [{"id": "w", "type": "action", "action": "core.noop"}]})";

class IngressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(env_.RegisterDefinition(kWaiter), IsOk());
    ASSERT_THAT(env_.RegisterDefinition(kTriggered), IsOk());
    ASSERT_THAT(env_.RegisterDefinition(kWaiter, "other"), IsOk());
  }
  SignalIngress Ingress(absl::string_view config = "{}") {
    return SignalIngress(&env_.engine(), &env_.store(),
                         *CorrelationConfig::Parse(config));
  }
  std::string StartWaiter(absl::string_view order, int amount,
                          absl::string_view ns = "default") {
    return *env_.Start(
        "waiter",
        absl::StrCat(R"({"order": ")", order, R"(", "amount": )", amount, "}"),
        "", ns);
  }
  static Event Ev(absl::string_view id, absl::string_view name,
                  absl::string_view payload, absl::string_view key = "",
                  absl::string_view ns = "default") {
    Event e;
    e.id = std::string(id);
    e.name = std::string(name);
    e.payload_json = std::string(payload);
    e.correlation_key = std::string(key);
    e.ns = std::string(ns);
    return e;
  }
  IngestResult One(SignalIngress& ingress, const Event& e) {
    auto results = ingress.Ingest({e});
    EXPECT_THAT(results, IsOk());
    EXPECT_THAT((*results)[0], IsOk());
    EXPECT_THAT(env_.RunUntilIdle(), IsOk());
    return *(*results)[0];
  }
  std::string Status(const std::string& run, absl::string_view ns = "default") {
    return env_.Describe(run, ns)->status();
  }

  TestEnv env_;
};

TEST_F(IngressTest, AFilterThatFailsLeavesTheRunWaitingAndAMatchResumesIt) {
  SignalIngress ingress = Ingress();
  const std::string run = StartWaiter("SO-1", 50);
  IngestResult small =
      One(ingress, Ev("e1", "payment.settled",
                      R"({"amount": 10, "correlationKey": "SO-1"})"));
  EXPECT_EQ(small.audit.key_source(), "payload.correlationKey");
  EXPECT_THAT(small.audit.matched_run_ids(), ElementsAre(run));
  EXPECT_THAT(small.audit.resumed_run_ids(), IsEmpty());
  EXPECT_EQ(Status(run), "WAITING");
  IngestResult big =
      One(ingress, Ev("e2", "payment.settled", R"({"amount": 60})", "SO-1"));
  EXPECT_EQ(big.audit.key_source(), "explicit");
  EXPECT_THAT(big.audit.resumed_run_ids(), ElementsAre(run));
  EXPECT_EQ(Status(run), "COMPLETED");
  EXPECT_EQ(env_.Describe(run)->output_json(), "60");
}

TEST_F(IngressTest, TwoRunsWaitingOnTheSameKeyBothReceive) {
  SignalIngress ingress = Ingress();
  const std::string a = StartWaiter("SO-2", 5), b = StartWaiter("SO-2", 5);
  const std::string other = StartWaiter("SO-3", 5);
  IngestResult r =
      One(ingress, Ev("e3", "payment.settled", R"({"amount": 5})", "SO-2"));
  EXPECT_THAT(r.audit.matched_run_ids(), SizeIs(2));
  EXPECT_EQ(Status(a), "COMPLETED");
  EXPECT_EQ(Status(b), "COMPLETED");
  EXPECT_EQ(Status(other), "WAITING");
}

TEST_F(IngressTest, UnresolvedKeyRoutesNowhereButTriggersStillStart) {
  SignalIngress ingress = Ingress();
  const std::string run = StartWaiter("SO-4", 1);
  IngestResult r =
      One(ingress, Ev("e4", "payment.settled", R"({"amount": 9})"));
  EXPECT_EQ(r.audit.error_code(), "CORRELATION_UNRESOLVED");
  EXPECT_THAT(r.audit.matched_run_ids(), IsEmpty());
  EXPECT_EQ(Status(run), "WAITING");
  IngestResult started = One(
      ingress,
      Ev("e5", "customer.signed_up", R"({"optIn": true, "customer": "C1"})"));
  EXPECT_EQ(started.audit.error_code(), "CORRELATION_UNRESOLVED");
  ASSERT_THAT(started.audit.started_run_ids(), SizeIs(1));
  EXPECT_EQ(Status(started.audit.started_run_ids(0)), "COMPLETED");
  // A duplicate within the dedupe window, and a guard refusal.
  IngestResult dup = One(ingress, Ev("e6", "customer.signed_up",
                                     R"({"optIn": true, "customer": "C1"})"));
  EXPECT_THAT(dup.audit.started_run_ids(), IsEmpty());
  EXPECT_THAT(dup.audit.skipped_triggers(0),
              HasSubstr("duplicate trigger ignored"));
  IngestResult refused = One(
      ingress,
      Ev("e7", "customer.signed_up", R"({"optIn": false, "customer": "C2"})"));
  EXPECT_THAT(refused.audit.skipped_triggers(0),
              HasSubstr("START_GUARD_REJECTED"));
}

TEST_F(IngressTest, NamespacesNeverSeeEachOthersEvents) {
  SignalIngress ingress = Ingress();
  const std::string here = StartWaiter("SO-5", 1, "default");
  const std::string there = StartWaiter("SO-5", 1, "other");
  IngestResult r = One(ingress, Ev("e8", "payment.settled", R"({"amount": 1})",
                                   "SO-5", "other"));
  EXPECT_THAT(r.audit.matched_run_ids(), ElementsAre(there));
  EXPECT_EQ(Status(there, "other"), "COMPLETED");
  EXPECT_EQ(Status(here), "WAITING");
  // The same event id in another namespace is another event.
  IngestResult same_id =
      One(ingress, Ev("e8", "payment.settled", R"({"amount": 1})", "SO-5"));
  EXPECT_FALSE(same_id.duplicate);
  EXPECT_EQ(Status(here), "COMPLETED");
}

TEST_F(IngressTest, ADuplicateEventIdDoesNothingTwice) {
  SignalIngress ingress = Ingress();
  const std::string a = StartWaiter("SO-6", 1);
  IngestResult first =
      One(ingress, Ev("e9", "payment.settled", R"({"amount": 0})", "SO-6"));
  EXPECT_THAT(first.audit.matched_run_ids(), ElementsAre(a));
  IngestResult again =
      One(ingress, Ev("e9", "payment.settled", R"({"amount": 5})", "SO-6"));
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(Status(a), "WAITING");  // the second delivery never happened
  auto batch = ingress.Ingest({Ev("e10", "payment.settled", "{}", "SO-6"),
                               Ev("e10", "payment.settled", "{}", "SO-6")});
  ASSERT_THAT(batch, IsOk());
  EXPECT_FALSE((*batch)[0]->duplicate);
  EXPECT_TRUE((*batch)[1]->duplicate);
}

TEST_F(IngressTest, AWaitThatTimedOutBeforeTheSignalGetsNothing) {
  SignalIngress ingress = Ingress();
  const std::string run = StartWaiter("SO-7", 1);
  ASSERT_THAT(env_.AdvanceTime(absl::Hours(2)), IsOk());
  EXPECT_EQ(Status(run), "FAILED");
  IngestResult r =
      One(ingress, Ev("e11", "payment.settled", R"({"amount": 1})", "SO-7"));
  EXPECT_THAT(r.audit.matched_run_ids(), IsEmpty());
  EXPECT_EQ(r.audit.error_code(), "");
}

TEST_F(IngressTest, ConfiguredPathsRouteAndMalformedEventsAreRejected) {
  SignalIngress ingress =
      Ingress(R"({"payment.settled": ["payload.order.ref"]})");
  const std::string run = StartWaiter("SO-8", 1);
  IngestResult r =
      One(ingress, Ev("e12", "payment.settled",
                      R"({"amount": 1, "order": {"ref": "SO-8"}})"));
  EXPECT_EQ(r.audit.key_source(), "path:payload.order.ref");
  EXPECT_EQ(Status(run), "COMPLETED");
  auto results = ingress.Ingest({Ev("", "x", "{}"), Ev("e13", "", "{}"),
                                 Ev("e14", "x", "{}", "", "bad\nns")});
  ASSERT_THAT(results, IsOk());
  EXPECT_THAT((*results)[0], HasErrorCode("EVENT_FIELD_MISSING"));
  EXPECT_THAT((*results)[1], HasErrorCode("EVENT_FIELD_MISSING"));
  EXPECT_THAT((*results)[2], HasErrorCode("INVALID_IDENTIFIER"));
  IngressOptions small;
  small.max_payload_bytes = 8;
  SignalIngress strict(&env_.engine(), &env_.store(), CorrelationConfig(),
                       small);
  auto big = strict.Ingest({Ev("e15", "x", R"({"a": 123})")});
  EXPECT_THAT((*big)[0], HasErrorCode("PAYLOAD_TOO_LARGE"));
}

TEST_F(IngressTest, EventsOfOneBatchForTheSameRunApplyInOrder) {
  SignalIngress ingress = Ingress();
  const std::string run = StartWaiter("SO-9", 50);
  // Both in one batch: the first does not pass the filter, the second
  // resumes the run, the third finds no wait left.
  auto results = ingress.Ingest(
      {Ev("f1", "payment.settled", R"({"amount": 10})", "SO-9"),
       Ev("f2", "payment.settled", R"({"amount": 70})", "SO-9"),
       Ev("f3", "payment.settled", R"({"amount": 80})", "SO-9")});
  ASSERT_THAT(results, IsOk());
  ASSERT_THAT(env_.RunUntilIdle(), IsOk());
  EXPECT_THAT((*results)[0]->audit.matched_run_ids(), ElementsAre(run));
  EXPECT_THAT((*results)[0]->audit.resumed_run_ids(), IsEmpty());
  EXPECT_THAT((*results)[1]->audit.resumed_run_ids(), ElementsAre(run));
  EXPECT_THAT((*results)[2]->audit.matched_run_ids(), IsEmpty());
  EXPECT_EQ(Status(run), "COMPLETED");
  EXPECT_EQ(env_.Describe(run)->output_json(), "70");
}

TEST_F(IngressTest, ManyRunsResumedInOneBatchEachGetTheirEventAndAudit) {
  SignalIngress ingress = Ingress();
  std::vector<std::string> runs;
  std::vector<Event> events;
  for (int i = 0; i < 100; ++i) {
    runs.push_back(StartWaiter(absl::StrCat("M-", i), i));
    events.push_back(Ev(absl::StrCat("m", i), "payment.settled",
                        absl::StrCat(R"({"amount": )", i, "}"),
                        absl::StrCat("M-", i)));
  }
  events.push_back(Ev("nobody", "payment.settled", "{}", "M-none"));
  auto results = ingress.Ingest(events);
  ASSERT_THAT(results, IsOk());
  ASSERT_THAT(env_.RunUntilIdle(), IsOk());
  for (int i = 0; i < 100; ++i) {
    ASSERT_THAT((*results)[i], IsOk());
    EXPECT_THAT((*results)[i]->audit.resumed_run_ids(), ElementsAre(runs[i]));
    EXPECT_EQ(env_.Describe(runs[i])->output_json(), absl::StrCat(i));
    // The audit row was committed with the signal.
    auto stored = env_.store().Get(history::KeySpace::kAudit,
                                   AuditKey("default", absl::StrCat("m", i)));
    ASSERT_THAT(stored, IsOk());
    ASSERT_TRUE(stored->has_value());
    history::SignalAuditRecord audit;
    ASSERT_TRUE(audit.ParseFromString(**stored));
    EXPECT_THAT(audit.resumed_run_ids(), ElementsAre(runs[i]));
  }
  EXPECT_THAT((*results)[100]->audit.matched_run_ids(), IsEmpty());
  EXPECT_TRUE(env_.store()
                  .Get(history::KeySpace::kAudit, AuditKey("default", "nobody"))
                  ->has_value());
}

TEST(NdjsonTest, ParsesLinesAndNamesProblems) {
  auto e = ParseEventLine(
      R"({"id": "e1", "name": "n", "payload": {"a": [1, 2]}, "correlation_key": 7,
          "occurred_at": "2026-01-02T03:04:05Z"})",
      "ns1");
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->ns, "ns1");
  EXPECT_EQ(e->payload_json, R"({"a":[1,2]})");
  EXPECT_EQ(e->correlation_key, "7");
  EXPECT_TRUE(e->occurred_at.has_value());
  EXPECT_THAT(ParseEventLine("{oops", "d"), HasErrorCode("EVENT_INVALID_JSON"));
  EXPECT_THAT(ParseEventLine("[1]", "d"), HasErrorCode("EVENT_FIELD_TYPE"));
  EXPECT_THAT(ParseEventLine(R"({"name": "n"})", "d"),
              HasErrorCode("EVENT_FIELD_MISSING"));
  EXPECT_THAT(ParseEventLine(R"({"id": "e"})", "d"),
              HasErrorCode("EVENT_FIELD_MISSING"));
  EXPECT_THAT(ParseEventLine(R"({"id": 5, "name": "n"})", "d"),
              HasErrorCode("EVENT_FIELD_TYPE"));
  EXPECT_THAT(
      ParseEventLine(R"({"id": "e", "name": "n", "occurred_at": "yesterday"})",
                     "d"),
      HasErrorCode("EVENT_FIELD_TYPE"));
  LineLimits limits;
  limits.max_line_bytes = 10;
  EXPECT_THAT(ParseEventLine(R"({"id": "e", "name": "n"})", "d", limits),
              HasErrorCode("EVENT_LINE_TOO_LONG"));
}

}  // namespace
}  // namespace retrace::signals
