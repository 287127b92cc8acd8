#include "projection/masking.h"

#include <random>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"

namespace retrace::projection {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MaskingTest, EmailsArePartlyMasked) {
  EXPECT_EQ(MaskText("jane.doe@example.com"), "j***@example.com");
  EXPECT_EQ(MaskText("mail a@b.io and Zed+x@mail.example.org now"),
            "mail a***@b.io and Z***@mail.example.org now");
  EXPECT_EQ(MaskText("no email here"), "no email here");
}

TEST(MaskingTest, SecretsAreRedactedFully) {
  EXPECT_EQ(
      MaskJson(
          R"({"user":"ada","password":"hunter2","nested":{"API_KEY":"k1","Authorization":"x"},"db_token":42})"),
      R"({"user":"ada","password":"***","nested":{"API_KEY":"***","Authorization":"***"},"db_token":"***"})");
  EXPECT_EQ(MaskJson(R"({"secrets":{"a":"b","list":["c"]}})"),
            R"({"secrets":{"a":"***","list":["***"]}})");
  EXPECT_EQ(MaskText("Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig"), "***");
  EXPECT_EQ(MaskText("sk_live_51H8abc"), "***");
  EXPECT_EQ(MaskText("AKIAIOSFODNN7EXAMPLE"), "***");
  EXPECT_EQ(MaskText("0123456789abcdef0123456789abcdef01"),
            "***");  // opaque token
  EXPECT_EQ(MaskText("a perfectly normal sentence of words"),
            "a perfectly normal sentence of words");
  EXPECT_EQ(MaskJson(R"({"to":"jane@example.com","amount":12.5})"),
            R"({"to":"j***@example.com","amount":12.5})");
  EXPECT_THAT(MaskJson("not json jane@example.com"), Not(HasSubstr("jane@")));
}

TEST(MaskingTest, SecretKeyScanAgreesWithASubstringSearch) {
  auto reference = [](absl::string_view key) {
    const std::string lower = absl::AsciiStrToLower(key);
    for (const char* word :
         {"password", "passwd", "secret", "token", "api_key", "apikey",
          "api-key", "authorization", "credential", "private_key"}) {
      if (lower.find(word) != std::string::npos) return true;
    }
    return false;
  };
  const std::vector<std::string> pieces = {
      "pass", "PASSW",     "ord",     "d",   "wd",      "secr", "et",
      "TOK",  "en",        "api",     "_",   "-",       "key",  "KEY",
      "auth", "orization", "credent", "ial", "private", "p",    "a",
      "x",    "\xC3\xA9",  "s",       "t"};
  std::mt19937 rng(3);
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) s += pieces[rng() % pieces.size()];
    ASSERT_EQ(IsSecretKey(s), reference(s)) << s;
  }
}

TEST(MaskingTest, SecretKeysAnyCaseAndLength) {
  EXPECT_TRUE(IsSecretKey("X-Api-Key"));
  EXPECT_TRUE(IsSecretKey("dbPASSWORD"));
  EXPECT_TRUE(IsSecretKey(std::string(100, 'a') + "Token"));  // past 64 bytes
  EXPECT_FALSE(IsSecretKey("correlationKey"));
  EXPECT_FALSE(IsSecretKey(""));
}

// The credential rule before the cheap prefilter was added in front of the
// regex: the two must agree on every text.
bool ReferenceLooksLikeCredential(absl::string_view s) {
  if (s.size() < 8) return false;
  static const RE2* prefixed = new RE2(
      R"((?i)^\s*(bearer|basic)\s+\S+|^(sk|pk|rk)_(live|test)_\w+|^gh[pousr]_\w{20,}|^AKIA[0-9A-Z]{16}$|^xox[abpr]-)");
  if (RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *prefixed))
    return true;
  if (s.size() < 32) return false;
  bool letter = false, digit = false;
  for (char c : s) {
    if (absl::ascii_isalpha(static_cast<unsigned char>(c))) {
      letter = true;
    } else if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else if (c != '_' && c != '-') {
      return false;
    }
  }
  return letter && digit;
}

TEST(MaskingTest, CredentialPrefilterAgreesWithTheRegex) {
  const std::vector<std::string> pieces = {"Bearer ",
                                           "basic ",
                                           "BEARER\t",
                                           "sk_",
                                           "SK_",
                                           "pk_",
                                           "rk_",
                                           "live_",
                                           "TEST_",
                                           "ghp_",
                                           "GHO_",
                                           "AKIA",
                                           "akia",
                                           "xoxb-",
                                           "XOXP-",
                                           " ",
                                           "\t",
                                           "\n",
                                           "\v",
                                           "\xC5\xBF" /* long s */,
                                           "\xE2\x84\xAA" /* Kelvin */,
                                           "abcdefghij",
                                           "0123456789",
                                           "_",
                                           "-",
                                           "@",
                                           "x",
                                           "Z",
                                           "."};
  std::mt19937 rng(11);
  for (int i = 0; i < 100000; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < n; ++k) s += pieces[rng() % pieces.size()];
    ASSERT_EQ(LooksLikeCredential(s), ReferenceLooksLikeCredential(s)) << s;
  }
  EXPECT_TRUE(LooksLikeCredential("\xC5\xBFk_live_abcdef"));  // (?i) folds
  EXPECT_TRUE(LooksLikeCredential(" \t Bearer abc"));
}

TEST(MaskingTest, EmailScannerAgreesWithTheRegex) {
  static const RE2* email = new RE2(
      R"(([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,}))");
  auto reference = [](absl::string_view text) {
    std::string out(text);
    RE2::GlobalReplace(&out, *email, R"(\1***@\2)");
    return out;
  };
  const std::vector<std::string> pieces = {
      "a",        "Z",       "0",    "9",  ".",  "-",        "_",    "%",
      "+",        "@",       "@",    "co", "io", "x.y",      ".com", ".c",
      "..",       " ",       ",",    "<",  ">",  "\xC3\xA9", "\xFF", "\xC3",
      "jane.doe", "example", ".org", "1",  "-."};
  std::mt19937 rng(5);
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) s += pieces[rng() % pieces.size()];
    ASSERT_EQ(MaskEmails(s), reference(s)) << s;
  }
  EXPECT_EQ(MaskEmails("a@b@c.io x.y-z@d.co.uk."), "a@b***@c.io x***@d.co.uk.");
  EXPECT_EQ(MaskEmails("q@host.com.x1"), "q***@host.com.x1");
}

}  // namespace
}  // namespace retrace::projection
