// The committed testdata histories are exactly what the interpreter produces
// today, and each replays (against its definition) to its recorded state,
// which is the state the interpreter reached incrementally.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/history_file.h"
#include "runtime/replay.h"
#include "runtime/testdata_scenarios.h"

namespace retrace::runtime {
namespace {

using ::retrace::testing::IsOk;

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TestdataTest : public ::testing::TestWithParam<Scenario> {};

TEST_P(TestdataTest, CommittedHistoryIsWhatTheCodeProducesAndReplays) {
  const Scenario& scenario = GetParam();
  auto driver = RunScenario(scenario, "testdata/definitions");
  ASSERT_THAT(driver, IsOk());
  const std::string history_path =
      absl::StrCat("testdata/histories/", scenario.name, ".json");
  const std::string state_path =
      absl::StrCat("testdata/states/", scenario.name, ".json");

  auto produced = history::FormatHistoryFile((*driver)->history(),
                                             history::HistoryFileFormat::kJson);
  ASSERT_THAT(produced, IsOk());
  EXPECT_EQ(*produced, Read(history_path))
      << "regenerate with: bazel run //runtime:testdata_gen";
  const std::string incremental = (*driver)->interpreter().StateJson();
  EXPECT_EQ(incremental + "\n", Read(state_path));

  // The committed file, read back, replays to the same state.
  auto committed = history::ReadHistoryFile(history_path);
  ASSERT_THAT(committed, IsOk());
  auto def = LoadDefinition(
      absl::StrCat("testdata/definitions/", scenario.definition_file));
  ASSERT_THAT(def, IsOk());
  auto replayed = Replay(*def, *committed);
  ASSERT_THAT(replayed, IsOk());
  EXPECT_EQ((*replayed)->StateJson(), incremental);
  EXPECT_TRUE((*replayed)->finished() ||
              !(*replayed)->open_work().wait_ids.empty() ||
              !(*replayed)->open_work().timer_ids.empty());
}

INSTANTIATE_TEST_SUITE_P(Scenarios, TestdataTest,
                         ::testing::ValuesIn(Scenarios()),
                         [](const auto& info) {
                           std::string name = info.param.name;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

TEST(TestdataFilesTest, EveryHistoryFileHasAScenario) {
  int files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator("testdata/histories")) {
    const std::string name = entry.path().stem().string();
    bool found = false;
    for (const Scenario& s : Scenarios()) found |= s.name == name;
    EXPECT_TRUE(found) << entry.path() << " has no scenario";
    ++files;
  }
  EXPECT_EQ(files, static_cast<int>(Scenarios().size()));
}

}  // namespace
}  // namespace retrace::runtime
