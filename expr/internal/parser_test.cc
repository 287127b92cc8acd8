#include "expr/internal/parser.h"

#include "common/status_matchers.h"
#include "expr/internal/signature.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::expr::internal {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::testing::HasSubstr;

TEST(ParserTest, FlattensPathsIntoSteps) {
  auto p = Parse("a.b[0].c");
  ASSERT_THAT(p, IsOk());
  const Node* root = (*p)->root;
  ASSERT_EQ(root->type, NodeType::kPath);
  ASSERT_EQ(root->items.size(), 3u);
  EXPECT_EQ(root->items[1]->value, "b");
  EXPECT_EQ(root->items[1]->stages.size(), 1u);
}

TEST(ParserTest, NormalisesDoubleEqualsOutsideStringsAndRegexes) {
  auto p = Parse("a == 'x==y'");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ((*p)->root->type, NodeType::kBinary);
  EXPECT_EQ((*p)->root->op, BinOp::kEq);
  EXPECT_EQ((*p)->root->rhs->literal.str(), "x==y");
  auto r = Parse("/a==b/");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ((*r)->root->value, "a==b");
  auto ne = Parse("a != b");
  ASSERT_THAT(ne, IsOk());
  EXPECT_EQ((*ne)->root->op, BinOp::kNe);
}

TEST(ParserTest, SyntaxErrorsCarryCodeAndPosition) {
  EXPECT_THAT(Parse("1 +"), HasErrorCode("S0207"));
  EXPECT_THAT(Parse("(1"), HasErrorCode("S0203"));
  EXPECT_THAT(Parse("[1 2]"), HasErrorCode("S0202"));
  EXPECT_THAT(Parse("'abc"), HasErrorCode("S0101"));
  EXPECT_THAT(Parse("\"\\q\""), HasErrorCode("S0103"));
  EXPECT_THAT(Parse("1 := 2"), HasErrorCode("S0212"));
  EXPECT_THAT(Parse("a.1"), HasErrorCode("S0213"));
  EXPECT_THAT(Parse("/* x"), HasErrorCode("S0106"));
  EXPECT_THAT(Parse("%"), HasErrorCode("S0217"));
  absl::StatusOr<std::shared_ptr<Program>> p = Parse("a b");
  EXPECT_THAT(p, HasErrorCode("S0201"));
  EXPECT_THAT(p.status().message(), HasSubstr("position 2"));
}

TEST(ParserTest, NestingIsBounded) {
  std::string deep(600, '(');
  deep += "1";
  deep += std::string(600, ')');
  EXPECT_THAT(Parse(deep, 500), HasErrorCode("EXPR_TOO_DEEP"));
  std::string ok(100, '(');
  ok += "1";
  ok += std::string(100, ')');
  EXPECT_THAT(Parse(ok, 500), IsOk());
}

TEST(ParserTest, LambdaWithSignature) {
  auto p = Parse("function($a, $b)<n-n:n>{ $a + $b }");
  ASSERT_THAT(p, IsOk());
  const Node* root = (*p)->root;
  ASSERT_EQ(root->type, NodeType::kLambda);
  EXPECT_EQ(root->params.size(), 2u);
  ASSERT_NE(root->signature, nullptr);
  EXPECT_EQ(root->signature->params.size(), 2u);
  EXPECT_TRUE(root->signature->params[0].context);
}

}  // namespace
}  // namespace retrace::expr::internal
