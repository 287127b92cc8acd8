// Runs the JSONata conformance suite (testdata/jsonata-suite layout:
// groups/<group>/*.json cases, datasets/<name>.json inputs) against the
// engine and reports each failing case.
//
// Case fields (see the suite README): expr or expr-file; data or dataset
// (null dataset = undefined input); bindings; one expectation of result,
// undefinedResult, code, or error (its code); optional timelimit + depth
// (mapped to Options::max_wall_time and Options::max_depth) and unordered.
//
// Thread safety: RunConformance is reentrant.
#ifndef RETRACE_EXPR_CONFORMANCE_H_
#define RETRACE_EXPR_CONFORMANCE_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace retrace::expr {

struct ConformanceOptions {
  // The suite folder (holding groups/ and datasets/). Required.
  std::string suite_dir;
  // Only this group when not empty. Default: all groups.
  std::string group;
};

struct ConformanceResult {
  int passed = 0;
  int total = 0;
  // One line per failing case: "group/case: expected ..., got ...".
  std::vector<std::string> failures;
};

// Runs every case. Fails with kNotFound / kInvalidArgument (code
// "EXPR_SUITE") only when the suite itself cannot be read.
absl::StatusOr<ConformanceResult> RunConformance(
    const ConformanceOptions& options);

}  // namespace retrace::expr

#endif  // RETRACE_EXPR_CONFORMANCE_H_
