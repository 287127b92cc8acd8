#include "common/file.h"

#include <cstdlib>
#include <fstream>

#include "common/status_matchers.h"
#include "gtest/gtest.h"

namespace retrace {
namespace {

using ::retrace::testing::HasErrorCode;

TEST(ReadFileToStringTest, ReadsBytesAndNamesMissingFiles) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/f.bin";
  std::ofstream(path, std::ios::binary) << std::string("a\0b\n", 4);
  auto contents = ReadFileToString(path);
  ASSERT_TRUE(contents.ok());
  EXPECT_EQ(*contents, std::string("a\0b\n", 4));
  EXPECT_THAT(ReadFileToString("/nonexistent/x"), HasErrorCode("FILE_IO"));
}

}  // namespace
}  // namespace retrace
