// Function signatures (`<s-n?:s>`): parsing and argument validation, as the
// JSONata specification defines them for built-ins and for lambdas.
//
// Thread safety: a parsed Signature is immutable.
#ifndef RETRACE_EXPR_INTERNAL_SIGNATURE_H_
#define RETRACE_EXPR_INTERNAL_SIGNATURE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "expr/value.h"

namespace retrace::expr::internal {

// Arguments of a function call; most calls have at most four.
using ValueList = absl::InlinedVector<Value, 4>;

struct SigParam {
  std::string allowed;  // type symbols accepted ("sm", "asnblfom", ...)
  char type = 'x';      // 's','n','b','l','o','a','f','j','x' or '(' choice
  std::string subtype;  // a<n>: "n"
  enum Quant { kOne, kOptional, kPlus } quant = kOne;
  bool context = false;  // '-': the context value stands in when missing
};

struct Signature {
  std::vector<SigParam> params;
  std::string source;
};

// Parses `<...>`. Fails with S0401 / S0402 at `position`.
absl::StatusOr<std::shared_ptr<const Signature>> ParseSignature(
    absl::string_view text, int position);

// The JSONata type symbol of a value (s n b l o a f m).
char TypeSymbol(const Value& v);

// Checks `args` against `sig`, substituting `context` for a missing '-'
// argument and wrapping non-arrays for array parameters. Fails with T0410,
// T0411 or T0412 naming `name` and `position`.
absl::StatusOr<ValueList> ValidateArgs(const Signature& sig, ValueList args,
                                       const Value& context,
                                       absl::string_view name, int position);

}  // namespace retrace::expr::internal

#endif  // RETRACE_EXPR_INTERNAL_SIGNATURE_H_
