"""fuzz_corpus_test: a libFuzzer target's regression test under Bazel.

Builds the target's source (which defines LLVMFuzzerTestOneInput) with the
normal toolchain into a test that replays its seed corpus and a deterministic
mutation pass (corpus_replay_main.cc). tools/fuzz builds the same source with
clang and libFuzzer for real fuzzing.

    fuzz_corpus_test(
        name = "definition_fuzz_corpus_test",
        fuzzer = "definition_fuzzer.cc",
        corpus = "definition",      # testdata/fuzz/definition
        deps = ["//runtime:definition", ...],
    )
"""

def fuzz_corpus_test(name, fuzzer, corpus, deps = [], size = "medium", **kwargs):
    native.cc_test(
        name = name,
        size = size,
        srcs = [fuzzer],
        args = ["testdata/fuzz/" + corpus],
        data = ["//testdata:fuzz_" + corpus],
        deps = deps + [
            "//common/fuzz:check",
            "//common/fuzz:corpus_replay_main",
        ],
        **kwargs
    )
