#include "runtime/actions.h"

#include <iostream>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "expr/value.h"
#include "history/events.h"

namespace retrace::runtime {
namespace {

constexpr absl::string_view kRetryableUrl = "retrace.dev/action-retryable";
constexpr absl::string_view kRetryAfterUrl =
    "retrace.dev/action-retry-after-ms";

}  // namespace

absl::Status ActionFailure(absl::string_view code, absl::string_view message,
                           bool retryable, absl::Duration retry_after) {
  absl::Status s = Error(absl::StatusCode::kAborted, code, message);
  s.SetPayload(kRetryableUrl, absl::Cord(retryable ? "1" : "0"));
  if (retry_after > absl::ZeroDuration()) {
    s.SetPayload(
        kRetryAfterUrl,
        absl::Cord(absl::StrCat(absl::ToInt64Milliseconds(retry_after))));
  }
  return s;
}

history::Failure FailureFromStatus(const absl::Status& status) {
  history::Failure f;
  std::string code = ErrorCode(status);
  if (code.empty()) code = absl::StatusCodeToString(status.code());
  f.set_code(code);
  absl::string_view message = status.message();
  if (absl::StartsWith(message, absl::StrCat(code, ": "))) {
    message.remove_prefix(code.size() + 2);
  }
  f.set_message(std::string(message));
  auto retryable = status.GetPayload(kRetryableUrl);
  f.set_non_retryable(retryable.has_value() && *retryable == "0");
  if (auto after = status.GetPayload(kRetryAfterUrl)) {
    int64_t ms = 0;
    if (absl::SimpleAtoi(std::string(*after), &ms)) f.set_retry_after_ms(ms);
  }
  return f;
}

void ActionRegistry::Register(std::string name, ActionHandler handler) {
  handlers_[std::move(name)] = std::move(handler);
}

const ActionHandler* ActionRegistry::Find(absl::string_view name) const {
  auto it = handlers_.find(name);
  return it == handlers_.end() ? nullptr : &it->second;
}

std::vector<std::string> ActionRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, handler] : handlers_) names.push_back(name);
  return names;
}

void RegisterBuiltinActions(ActionRegistry* registry) {
  registry->Register("core.echo",
                     [](const ActionContext&, const history::Payload& input)
                         -> absl::StatusOr<history::Payload> { return input; });
  registry->Register(
      "core.noop",
      [](const ActionContext&,
         const history::Payload&) -> absl::StatusOr<history::Payload> {
        return history::JsonPayload("null");
      });
  registry->Register(
      "core.log",
      [](const ActionContext& ctx,
         const history::Payload& input) -> absl::StatusOr<history::Payload> {
        std::cerr << "[" << ctx.ns << "/" << ctx.run_id << " " << ctx.step_id
                  << "#" << ctx.attempt << "] " << input.data() << "\n";
        return history::JsonPayload("null");
      });
  registry->Register(
      "core.fail",
      [](const ActionContext&,
         const history::Payload& input) -> absl::StatusOr<history::Payload> {
        std::string code = "CORE_FAIL";
        std::string message = "core.fail was asked to fail";
        bool retryable = true;
        int64_t retry_after_ms = 0;
        absl::StatusOr<expr::Value> v = expr::ParseJson(input.data());
        if (v.ok() && v->IsObject()) {
          const auto& o = v->object();
          if (const auto* c = o.Find("code"); c && c->IsString())
            code = c->str();
          if (const auto* m = o.Find("message"); m && m->IsString()) {
            message = m->str();
          }
          if (const auto* r = o.Find("retryable"); r && r->IsBool()) {
            retryable = r->boolean();
          }
          if (const auto* a = o.Find("retry_after_ms"); a && a->IsNumber()) {
            retry_after_ms = static_cast<int64_t>(a->number());
          }
        }
        return ActionFailure(code, message, retryable,
                             absl::Milliseconds(retry_after_ms));
      });
}

}  // namespace retrace::runtime
