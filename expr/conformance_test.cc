// Runs the JSONata conformance suite hermetically and fails when fewer cases
// pass than the threshold in expr/conformance_threshold.txt (raise it as the
// engine improves; never lower it without a documented deviation).
#include "expr/conformance.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "gtest/gtest.h"

namespace retrace::expr {
namespace {

std::string Runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr) return path;
  return std::string(srcdir) + "/" + (workspace ? workspace : "retrace") + "/" +
         path;
}

TEST(ConformanceTest, PassesAtLeastThreshold) {
  std::ifstream in(Runfile("expr/conformance_threshold.txt"));
  int threshold = 0;
  ASSERT_TRUE(in >> threshold);
  ConformanceOptions options;
  options.suite_dir = Runfile("testdata/jsonata-suite");
  auto result = RunConformance(options);
  ASSERT_TRUE(result.ok()) << result.status();
  for (const std::string& line : result->failures) std::cout << line << "\n";
  std::cout << "conformance: passed " << result->passed << "/" << result->total
            << std::endl;
  EXPECT_GE(result->passed, threshold);
  EXPECT_GT(result->total, 1000);
}

}  // namespace
}  // namespace retrace::expr
