#include "expr/value.h"

#include <cmath>
#include <string>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::expr {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;

TEST(ValueTest, JsonRoundTrip) {
  const char* docs[] = {
      R"({"a":[1,2.5,-3e-7,true,false,null],"b":{"c":"x\"y\\z\n"},"d":[]})",
      R"([])",
      R"({})",
      R"("\u00e9\u4e2d")",
      R"(1e+21)",
      R"(123456789012)",
  };
  for (const char* doc : docs) {
    absl::StatusOr<Value> v = ParseJson(doc);
    ASSERT_THAT(v, IsOk()) << doc;
    absl::StatusOr<Value> again = ParseJson(ToJson(*v));
    ASSERT_THAT(again, IsOk());
    EXPECT_TRUE(DeepEqual(*v, *again)) << doc << " -> " << ToJson(*v);
  }
  EXPECT_EQ(ToJson(*ParseJson(R"({"a": [1, 2]})")), R"({"a":[1,2]})");
}

TEST(ValueTest, KeepsKeyOrderAndReplacesDuplicates) {
  absl::StatusOr<Value> v = ParseJson(R"({"z":1,"a":2,"z":3})");
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(ToJson(*v), R"({"z":3,"a":2})");
}

TEST(ValueTest, LargeObjectsUseTheIndex) {
  Value o = Value::Object();
  for (int i = 0; i < 100; ++i) {
    o.MutableObject()->Set("k" + std::to_string(i), Value::Number(i));
  }
  ASSERT_NE(o.object().Find("k77"), nullptr);
  EXPECT_EQ(o.object().Find("k77")->number(), 77);
  EXPECT_EQ(o.object().Find("nope"), nullptr);
  o.MutableObject()->Erase("k5");
  EXPECT_EQ(o.object().Find("k5"), nullptr);
  EXPECT_EQ(o.object().Find("k6")->number(), 6);
}

TEST(ValueTest, RejectsBadJson) {
  EXPECT_THAT(ParseJson("{"), HasErrorCode("EXPR_JSON_PARSE"));
  EXPECT_THAT(ParseJson("[1] x"), HasErrorCode("EXPR_JSON_PARSE"));
}

// Found by tools/fuzz ndjson: an event payload {"amount": 0e51} was read as
// -2.48e-265 (RapidJSON's full-precision path on an all-zero significand;
// common/json.h).
TEST(ValueTest, ZeroWithLargeExponentIsZero) {
  absl::StatusOr<Value> v = ParseJson(R"({"amount": 0e51, "b": -0.0e-40})");
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(ToJson(*v), R"({"amount":0,"b":0})");
}

TEST(ValueTest, NestingLimitAtAndPast) {
  const std::string at =
      std::string(kMaxValueNesting, '[') + std::string(kMaxValueNesting, ']');
  EXPECT_THAT(ParseJson(at), IsOk());
  EXPECT_THAT(ParseJson("[" + at + "]"), HasErrorCode("EXPR_JSON_PARSE"));
}

TEST(ValueTest, FormatsNumbersLikeJavaScript) {
  EXPECT_EQ(FormatNumber(1), "1");
  EXPECT_EQ(FormatNumber(1.5), "1.5");
  EXPECT_EQ(FormatNumber(-0.0), "0");
  EXPECT_EQ(FormatNumber(1e21), "1e+21");
  EXPECT_EQ(FormatNumber(1e20), "100000000000000000000");
  EXPECT_EQ(FormatNumber(1.5e-7), "1.5e-7");
  EXPECT_EQ(FormatNumber(0.000001), "0.000001");
  EXPECT_EQ(FormatNumber(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatNumber(0.1 + 0.2, 15), "0.3");
  EXPECT_EQ(FormatNumber(90.57000000000001, 15), "90.57");
}

TEST(ValueTest, CopiesShareCells) {
  Value a = *ParseJson("[1,2,3]");
  Value b = a;
  EXPECT_TRUE(a.SameCell(b));
  b.MutableArray()->items.push_back(Value::Number(4));  // copy on write
  EXPECT_EQ(a.items().size(), 3u);
  EXPECT_EQ(b.items().size(), 4u);
}

}  // namespace
}  // namespace retrace::expr

namespace retrace::expr {
namespace {

TEST(ValueTest, LoneSurrogatesBecomeWtf8) {
  absl::StatusOr<Value> v =
      ParseJson(R"(["\ud800", "\ud83d\ude00", "\\ud800"])");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->items()[0].str(), "\xED\xA0\x80");
  EXPECT_EQ(v->items()[1].str(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(v->items()[2].str(), "\\ud800");
  EXPECT_FALSE(ParseJsonStrict(R"("\ud800")").ok());
}

}  // namespace
}  // namespace retrace::expr
