"""cc_proto: C++ code from .proto files with the system protoc, offline.

Bazel 4's proto rules want @rules_proto and @com_google_protobuf from the
internet; a genrule over /usr/bin/protoc plus a cc_library does the same job.

    cc_proto(
        name = "history_cc_proto",
        srcs = ["history.proto"],
        proto_deps = [],            # .proto files (labels) these srcs import
        deps = [],                  # cc_proto targets of those imports
    )
"""

def cc_proto(name, srcs, proto_deps = [], deps = [], visibility = None):
    hdrs = [s[:-len(".proto")] + ".pb.h" for s in srcs]
    ccs = [s[:-len(".proto")] + ".pb.cc" for s in srcs]
    native.genrule(
        name = name + "_protoc",
        srcs = srcs + proto_deps,
        outs = hdrs + ccs,
        cmd = "/usr/bin/protoc -I. -I/usr/include --cpp_out=$(BINDIR) " +
              " ".join(["$(location %s)" % s for s in srcs]),
        visibility = ["//visibility:private"],
    )
    native.cc_library(
        name = name,
        srcs = ccs,
        hdrs = hdrs,
        copts = ["-w"],
        deps = deps + ["//third_party:protobuf"],
        visibility = visibility,
    )
