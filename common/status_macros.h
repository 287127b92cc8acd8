// RETURN_IF_ERROR / ASSIGN_OR_RETURN: the project's one copy of these macros.
//
//   RETURN_IF_ERROR(store->Append(request));
//   ASSIGN_OR_RETURN(auto info, store->GetRunInfo(ns, run));
#ifndef RETRACE_COMMON_STATUS_MACROS_H_
#define RETRACE_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RETRACE_CONCAT_INNER_(a, b) a##b
#define RETRACE_CONCAT_(a, b) RETRACE_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// when it is not OK.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status retrace_status_ = (expr);         \
    if (ABSL_PREDICT_FALSE(!retrace_status_.ok())) { \
      return retrace_status_;                        \
    }                                                \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status when not OK,
// otherwise moves its value into `lhs` (which may be a declaration).
#define ASSIGN_OR_RETURN(lhs, rexpr)                                           \
  RETRACE_ASSIGN_OR_RETURN_IMPL_(RETRACE_CONCAT_(retrace_sor_, __LINE__), lhs, \
                                 rexpr)

#define RETRACE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (ABSL_PREDICT_FALSE(!statusor.ok())) {                  \
    return std::move(statusor).status();                     \
  }                                                          \
  lhs = std::move(statusor).value()

#endif  // RETRACE_COMMON_STATUS_MACROS_H_
