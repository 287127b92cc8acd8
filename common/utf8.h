// UTF-8 validity, for text bound for protobuf `string` fields (which refuse
// anything else when parsed back) and JSON readers (json.h).
//
//   if (!IsValidUtf8(run_id)) return Error(...);
//
// Thread safety: pure function.
#ifndef RETRACE_COMMON_UTF8_H_
#define RETRACE_COMMON_UTF8_H_

#include "absl/strings/string_view.h"

namespace retrace {

// True when `s` is well-formed UTF-8: no stray continuation bytes, truncated
// sequences, overlong forms, surrogates (U+D800..U+DFFF) or code points past
// U+10FFFF.
bool IsValidUtf8(absl::string_view s);

}  // namespace retrace

#endif  // RETRACE_COMMON_UTF8_H_
