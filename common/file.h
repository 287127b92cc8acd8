// Reading whole files, with the project's error codes.
//
// Thread safety: pure function.
#ifndef RETRACE_COMMON_FILE_H_
#define RETRACE_COMMON_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace retrace {

// The contents of the file at `path`, or kNotFound / FILE_IO naming it.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace retrace

#endif  // RETRACE_COMMON_FILE_H_
