// Lexer and parser: JSONata source text -> Program (AST).
//
// The lexer normalises `==` to `=` outside string literals and regular
// expressions (Retrace's source normalisation); `!=` is unchanged.
//
// Thread safety: Parse is reentrant.
#ifndef RETRACE_EXPR_INTERNAL_PARSER_H_
#define RETRACE_EXPR_INTERNAL_PARSER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "expr/internal/ast.h"

namespace retrace::expr::internal {

// Parses `source`. Syntax errors come back as S0xxx codes with the position;
// nesting deeper than `max_nesting` fails with EXPR_TOO_DEEP.
absl::StatusOr<std::shared_ptr<Program>> Parse(absl::string_view source,
                                               int max_nesting = 500);

}  // namespace retrace::expr::internal

#endif  // RETRACE_EXPR_INTERNAL_PARSER_H_
