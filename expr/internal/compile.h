// The compile step: parse, then resolve built-in function references and
// regular expressions once, and enforce the function allow-list.
//
// Thread safety: CompileProgram is reentrant; the Program it returns is
// immutable and may be evaluated from many threads at once.
#ifndef RETRACE_EXPR_INTERNAL_COMPILE_H_
#define RETRACE_EXPR_INTERNAL_COMPILE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "expr/internal/ast.h"
#include "expr/options.h"

namespace retrace::expr::internal {

// Parses and resolves `source`. Fails with the parser's S0xxx codes, or
// EXPR_FUNCTION_NOT_ALLOWED naming the function and its position when the
// source refers to a built-in outside options.allowed_functions.
absl::StatusOr<std::shared_ptr<const Program>> CompileProgram(
    absl::string_view source, const Options& options);

}  // namespace retrace::expr::internal

#endif  // RETRACE_EXPR_INTERNAL_COMPILE_H_
