// Replay: run the interpreter over a recorded history and check that every
// command recorded in it is what the definition asks for now. This is how a
// changed definition is checked against stored histories before deployment.
//
// Thread safety: pure functions over their arguments.
#ifndef RETRACE_RUNTIME_REPLAY_H_
#define RETRACE_RUNTIME_REPLAY_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "history/history.pb.h"
#include "runtime/definition.h"
#include "runtime/interpreter.h"

namespace retrace::runtime {

// Replays `history` (up to and including event `up_to`; 0 for all) against
// `definition` and returns the interpreter in the state the history leads
// to. Fails with NONDETERMINISM (kFailedPrecondition) naming the event id,
// what was recorded and what the definition asks for now, or with the
// interpreter's other errors.
absl::StatusOr<std::unique_ptr<Interpreter>> Replay(
    std::shared_ptr<const Definition> definition,
    const history::History& history, int64_t up_to = 0,
    const InterpreterOptions& options = {});

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_REPLAY_H_
