#include "runtime/testdata_scenarios.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/status.h"
#include "common/status_macros.h"

namespace retrace::runtime {
namespace {

constexpr char kOrderInput[] =
    R"({"orderId": "SO-1001", "email": "ada@example.com",
  "currency": "EUR", "shipping": "standard", "address": {"city": "Berlin"},
  "lines": [{"sku": "A-100", "qty": 2, "price": 25.5}, {"sku": "B-200", "qty": 1, "price": 99.99}]})";

absl::Status OrderHappy(RunDriver& d) {
  RETURN_IF_ERROR(d.StartStep("reserve", "worker-a"));
  d.Advance(absl::Milliseconds(40));
  RETURN_IF_ERROR(d.CompleteStep("reserve", R"({"reservation": "R-77"})"));
  RETURN_IF_ERROR(d.StartStep("charge", "worker-b"));
  d.Advance(absl::Milliseconds(900));
  RETURN_IF_ERROR(d.FailStep("charge", "HTTP_503"));
  RETURN_IF_ERROR(d.FireNextTimer());
  RETURN_IF_ERROR(d.StartStep("charge", "worker-a"));
  d.Advance(absl::Milliseconds(300));
  RETURN_IF_ERROR(
      d.CompleteStep("charge", R"({"charge": "ch_1", "status": "pending"})"));
  d.Advance(absl::Minutes(12));
  RETURN_IF_ERROR(
      d.Signal("payment.settled", R"({"amount": 50})", "SO-1001", "evt-1"));
  d.Advance(absl::Minutes(3));
  RETURN_IF_ERROR(
      d.Signal("payment.settled", R"({"amount": 150.99})", "SO-1001", "evt-2"));
  RETURN_IF_ERROR(d.StartStep("ship_standard", "worker-b"));
  d.Advance(absl::Seconds(2));
  RETURN_IF_ERROR(d.CompleteStep("ship_standard", R"({"tracking": "1Z999"})"));
  d.Advance(absl::Milliseconds(150));
  return d.CompleteStep("notify", R"({"messageId": "m-1"})");
}

absl::Status OrderDeclined(RunDriver& d) {
  RETURN_IF_ERROR(d.CompleteStep("reserve", R"({"reservation": "R-78"})"));
  d.Advance(absl::Milliseconds(500));
  RETURN_IF_ERROR(d.FailStep("charge", "CARD_DECLINED"));
  d.Advance(absl::Milliseconds(80));
  return d.CompleteStep("release", "{}");
}

constexpr char kCustomer[] =
    R"({"customerId": "C-42", "email": "grace@example.com",
  "firstName": "Grace", "plan": "pro", "marketingOptIn": true})";

absl::Status MarketingComplete(RunDriver& d) {
  RETURN_IF_ERROR(d.CompleteStep("welcome", R"({"opened": false})"));
  RETURN_IF_ERROR(d.FireNextTimer());
  RETURN_IF_ERROR(d.CompleteStep("reminder", R"({"opened": true})"));
  RETURN_IF_ERROR(d.FireNextTimer());
  return d.CompleteStep("offer", "{}");
}

absl::Status MarketingConverted(RunDriver& d) {
  RETURN_IF_ERROR(d.CompleteStep("welcome", R"({"opened": true})"));
  d.Advance(absl::Hours(20));
  RETURN_IF_ERROR(
      d.Signal("customer.converted", R"({"plan": "pro"})", "C-42", "evt-9"));
  return absl::OkStatus();
}

constexpr char kBigExpense[] =
    R"({"employee": "lin@example.com", "department": "eng",
  "amount": 2400, "currency": "EUR", "reason": "conference travel"})";

absl::Status ApprovalApproved(RunDriver& d) {
  d.Advance(absl::Hours(5));
  RETURN_IF_ERROR(d.CompleteHumanTask(
      "/steps/1/then/0", R"({"choice": "approve", "note": "ok"})", "maria"));
  return d.CompleteStep("pay", R"({"transfer": "T-5"})");
}

absl::Status ApprovalTimedOut(RunDriver& d) {
  return d.TimeOutWait("/steps/1/then/0");
}

absl::Status ApprovalAutomatic(RunDriver& d) {
  return d.CompleteStep("pay", R"({"transfer": "T-6"})");
}

constexpr char kApplicant[] = R"({"amount": 15000, "ip": "203.0.113.9",
  "applicant": {"name": "Ada", "email": "ada@example.com", "ssn": "123-45-6789"}})";

absl::Status FanoutOffer(RunDriver& d) {
  RETURN_IF_ERROR(d.CompleteStep("fraud", R"({"score": 12})"));
  RETURN_IF_ERROR(d.FailStep("credit", "HTTP_502"));
  RETURN_IF_ERROR(d.CompleteStep("kyc", R"({"confidence": 0.6})"));
  RETURN_IF_ERROR(d.FireNextTimer());
  RETURN_IF_ERROR(d.CompleteStep("credit", R"({"score": 780})"));
  d.Advance(absl::Hours(3));
  RETURN_IF_ERROR(d.CompleteHumanTask("/steps/0/branches/2/1/then/0",
                                      R"({"verified": true})", "kyc-bot"));
  return d.CompleteStep("offer", R"({"id": "L-1", "monthly": 283.1})");
}

absl::Status BatchPage(RunDriver& d) {
  RETURN_IF_ERROR(d.CompleteStep(
      "fetch",
      R"({"invoices": [{"id": "I-1", "customer": "C-1"}, {"id": "I-2", "customer": "C-2"},
          {"id": "I-3", "customer": "C-3"}], "next": "cursor-2"})"));
  RETURN_IF_ERROR(d.CompleteStep("send", R"({"sent": true})"));
  RETURN_IF_ERROR(d.FailStep("send", "SMTP_DOWN"));
  RETURN_IF_ERROR(d.FireNextTimer());
  RETURN_IF_ERROR(d.FailStep("send", "SMTP_DOWN"));
  return d.CompleteStep("send", R"({"sent": true})");
}

}  // namespace

const std::vector<Scenario>& Scenarios() {
  static const auto* scenarios = new std::vector<Scenario>{
      {"order-fulfilment-happy", "order-fulfilment.json", kOrderInput,
       OrderHappy},
      {"order-fulfilment-declined", "order-fulfilment.json", kOrderInput,
       OrderDeclined},
      {"marketing-sequence-complete", "marketing-sequence.json", kCustomer,
       MarketingComplete},
      {"marketing-sequence-converted", "marketing-sequence.json", kCustomer,
       MarketingConverted},
      {"expense-approval-approved", "human-approval.json", kBigExpense,
       ApprovalApproved},
      {"expense-approval-timed-out", "human-approval.json", kBigExpense,
       ApprovalTimedOut},
      {"expense-approval-automatic", "human-approval.json",
       R"({"employee": "sam@example.com", "department": "ops", "amount": 80, "currency": "EUR", "reason": "taxi"})",
       ApprovalAutomatic},
      {"loan-checks-offer", "parallel-fanout.json", kApplicant, FanoutOffer},
      {"invoice-batch-page", "batch-continue-as-new.json",
       R"({"cursor": null, "page": 1})", BatchPage},
  };
  return *scenarios;
}

absl::StatusOr<std::shared_ptr<const Definition>> LoadDefinition(
    const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  DefinitionResult def = ParseDefinition(text);
  RETURN_IF_ERROR(Annotate(def.status(), path));
  return def.definition;
}

absl::StatusOr<std::unique_ptr<RunDriver>> RunScenario(
    const Scenario& scenario, const std::string& definitions_dir) {
  ASSIGN_OR_RETURN(auto def,
                   LoadDefinition(absl::StrCat(definitions_dir, "/",
                                               scenario.definition_file)));
  auto driver = std::make_unique<RunDriver>(def, "default", scenario.name,
                                            scenario.input_json);
  RETURN_IF_ERROR(driver->Start());
  RETURN_IF_ERROR(Annotate(scenario.drive(*driver), scenario.name));
  return driver;
}

}  // namespace retrace::runtime
