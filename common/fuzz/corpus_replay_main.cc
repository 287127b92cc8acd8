// The main of every *_fuzz_corpus_test (fuzz.bzl): runs a libFuzzer target's
// LLVMFuzzerTestOneInput under the normal toolchain (GCC, no libFuzzer) over
//   1. every file of its seed corpus (the directories given as arguments,
//      relative to the workspace), then
//   2. a deterministic mutation pass: FUZZ_MUTATIONS inputs (default 2000),
//      each a seed with one to four byte-level mutations (bit flips, deleted,
//      duplicated or spliced ranges, JSON tokens inserted, truncation), drawn
//      from a generator seeded with FUZZ_SEED (default 1).
// A crash, sanitizer report (--config=asan) or FUZZ_CHECK failure kills the
// test. Each input is named on stderr before it runs, and the last one is
// kept in $TEST_UNDECLARED_OUTPUTS_DIR/current-input, so the log shows which
// input it was. Inputs that tools/fuzz found crashing are added to the seed
// corpus; this test keeps them fixed.
//
//   bazel test //runtime/fuzz:definition_fuzz_corpus_test \
//       --test_env=FUZZ_MUTATIONS=100000 --test_env=FUZZ_SEED=7
#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace retrace::fuzz {
namespace {

std::vector<std::string>* corpus_dirs = nullptr;

struct Seed {
  std::string name;
  std::string bytes;
};

std::string Runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr) return path;
  return std::string(srcdir) + "/" + (workspace ? workspace : "retrace") + "/" +
         path;
}

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v == nullptr || *v == '\0' ? fallback : std::atoll(v);
}

std::vector<Seed> ReadSeeds() {
  std::vector<Seed> seeds;
  for (const std::string& dir : *corpus_dirs) {
    const std::filesystem::path base = Runfile(dir);
    std::vector<std::filesystem::path> files;
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(base)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
      std::ifstream in(path, std::ios::binary);
      seeds.push_back({dir + "/" + path.lexically_relative(base).string(),
                       std::string(std::istreambuf_iterator<char>(in), {})});
    }
  }
  return seeds;
}

void RunInput(const std::string& name, const std::string& bytes) {
  std::fprintf(stderr, "input: %s (%zu bytes)\n", name.c_str(), bytes.size());
  if (const char* out = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR")) {
    std::ofstream(std::string(out) + "/current-input", std::ios::binary)
        << bytes;
  }
  // A copy the size of the input, so reads past its end are caught by ASan.
  std::vector<uint8_t> data(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(data.data(), data.size());
}

// Tokens worth inserting into the JSON and expression inputs the targets
// read: structure, extreme numbers, escapes and the binary history magic.
const char* const kTokens[] = {
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "null",
    "true",
    "false",
    "0",
    "-0",
    "1e309",
    "-1e309",
    "1e-400",
    "9007199254740993",
    "-1",
    "\\u0000",
    "\\ud800",
    "\\\"",
    "\"\":",
    "[[[[[[[[",
    "{\"a\":{\"a\":",
    "$",
    "$$",
    "..",
    "[0]",
    "RTRCHST1",
    "\xff\xff\xff\xff\x0f",
    "\x80",
    "\n",
};

class Mutator {
 public:
  Mutator(const std::vector<Seed>& seeds, uint32_t seed)
      : seeds_(seeds), rng_(seed) {}

  std::string Next(std::string* name) {
    const Seed& base = seeds_[Pick(seeds_.size())];
    std::string s = base.bytes;
    const int rounds = 1 + static_cast<int>(Pick(4));
    std::string ops;
    for (int i = 0; i < rounds; ++i) ops += Mutate(&s);
    *name = base.name + " mutated by " + ops;
    return s;
  }

 private:
  size_t Pick(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }

  // Applies one mutation; returns its one-letter name.
  std::string Mutate(std::string* s) {
    const size_t at = Pick(s->size() + 1);
    switch (Pick(7)) {
      case 0:  // flip a bit
        if (s->empty()) return "";
        (*s)[Pick(s->size())] ^= static_cast<char>(1 << Pick(8));
        return "f";
      case 1:  // delete a range
        s->erase(at, 1 + Pick(16));
        return "d";
      case 2: {  // duplicate a range
        if (s->empty()) return "";
        const size_t from = Pick(s->size());
        s->insert(at, s->substr(from, 1 + Pick(64)));
        return "u";
      }
      case 3: {  // insert a token
        const char* token = kTokens[Pick(std::size(kTokens))];
        s->insert(at, token);
        return "t";
      }
      case 4:  // truncate
        s->resize(at);
        return "x";
      case 5: {  // splice: this seed's head, another seed's tail
        const std::string& other = seeds_[Pick(seeds_.size())].bytes;
        *s = s->substr(0, at) + other.substr(Pick(other.size() + 1));
        return "s";
      }
      default: {  // overwrite a byte with a structural character
        if (s->empty()) return "";
        static const char kBytes[] = "{}[]\":,0-e\\\n";
        (*s)[Pick(s->size())] = kBytes[Pick(sizeof(kBytes) - 1)];
        return "o";
      }
    }
  }

  const std::vector<Seed>& seeds_;
  std::mt19937 rng_;
};

struct Replay {
  const std::vector<Seed>* seeds;
  int64_t mutations;
  uint32_t seed;
};

void* RunReplay(void* arg) {
  const Replay& r = *static_cast<const Replay*>(arg);
  for (const Seed& seed : *r.seeds) RunInput(seed.name, seed.bytes);
  Mutator mutator(*r.seeds, r.seed);
  for (int64_t i = 0; i < r.mutations; ++i) {
    std::string name;
    std::string input = mutator.Next(&name);
    RunInput(name, input);
  }
  return nullptr;
}

TEST(FuzzCorpusTest, SeedCorpusThenMutations) {
  ASSERT_FALSE(corpus_dirs->empty()) << "usage: test CORPUS_DIR...";
  const std::vector<Seed> seeds = ReadSeeds();
  ASSERT_FALSE(seeds.empty()) << "no seed files";
  Replay replay{&seeds, EnvInt("FUZZ_MUTATIONS", 2000),
                static_cast<uint32_t>(EnvInt("FUZZ_SEED", 1))};
  // On a 64 MiB stack, as tools/fuzz runs the targets: the expression depth
  // budget is sized for 2 MiB in optimised builds, and sanitizer builds
  // (--config=asan) use far bigger frames.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, size_t{64} << 20);
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, &attr, RunReplay, &replay), 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  std::printf("%zu seed inputs and %lld mutations ran\n", seeds.size(),
              static_cast<long long>(replay.mutations));
}

}  // namespace
}  // namespace retrace::fuzz

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::vector<std::string> dirs(argv + 1, argv + argc);
  retrace::fuzz::corpus_dirs = &dirs;
  return RUN_ALL_TESTS();
}
