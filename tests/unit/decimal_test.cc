// common/decimal.h and common/decimal_flag.h: the one rule every integer
// flag (contentctl, contentd, contentbench) and config key reads by.
#include "common/decimal.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/decimal_flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace content::internal {
namespace {

using ::testing::IsEmpty;

constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();

TEST(DecimalTest, DigitsWithAnOptionalMinusOnly) {
  int64_t n = -1;
  EXPECT_THAT(ParseDecimal<int64_t>("010", 0, kMax64, &n), IsEmpty());
  EXPECT_EQ(n, 10);
  EXPECT_THAT(ParseDecimal<int64_t>("-7", -10, 10, &n), IsEmpty());
  EXPECT_EQ(n, -7);
  EXPECT_THAT(ParseDecimal<int64_t>("-0", 0, 10, &n), IsEmpty());
  EXPECT_EQ(n, 0);
  // `+5` was taken as 5; it is no more decimal than 0x5.
  for (const char* text : {"+5", "+0", "0x10", "1e3", "1.5", " 1", "1 ", "",
                           "-", "--1", "-+1", "5+"}) {
    n = 42;
    EXPECT_EQ(ParseDecimal<int64_t>(text, 0, kMax64, &n),
              std::string("not a decimal integer: \"") + text + "\"")
        << text;
    EXPECT_EQ(n, 42) << text;
  }
}

// A number past the type (int64 too) names the range instead of calling
// itself "not a number".
TEST(DecimalTest, OutOfRangeNamesTheRange) {
  int64_t n = 0;
  EXPECT_EQ(ParseDecimal<int64_t>("9223372036854775808", 1, kMax64, &n),
            "not in range 1 to 9223372036854775807, got 9223372036854775808");
  EXPECT_EQ(ParseDecimal<int64_t>("99999999999999999999999", 1, kMax64, &n),
            "not in range 1 to 9223372036854775807, got "
            "99999999999999999999999");
  int i = 0;
  EXPECT_EQ(
      ParseDecimal<int>("3000000000", 0, std::numeric_limits<int>::max(), &i),
      "not in range 0 to 2147483647, got 3000000000");
  EXPECT_EQ(ParseDecimal<int>("0500", 1, 128, &i),
            "not in range 1 to 128, got 500");
  EXPECT_EQ(ParseDecimal<int>("0", 1, 128, &i), "not in range 1 to 128, got 0");
  // With no upper bound but the type's, the lower one alone is named.
  EXPECT_EQ(ParseDecimal<int64_t>("-0005", 0, kMax64, &n),
            "must not be negative, got -5");
  EXPECT_EQ(ParseDecimal<int64_t>("0", 1, kMax64, &n),
            "must be at least 1, got 0");
  EXPECT_EQ(ParseDecimal<int64_t>("-99999999999999999999", 1, kMax64, &n),
            "must be at least 1, got -99999999999999999999");
  uint64_t u = 0;
  EXPECT_THAT(ParseDecimal<uint64_t>("18446744073709551615", 0,
                                     std::numeric_limits<uint64_t>::max(), &u),
              IsEmpty());
  EXPECT_EQ(u, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(
      ParseDecimal<uint64_t>("-1", 0, std::numeric_limits<uint64_t>::max(), &u),
      "must not be negative, got -1");
}

// The CLI11 transform: the flag gets the number meant, or a parse error
// naming the flag and the rule.
TEST(DecimalTest, FlagTransform) {
  auto parse = [](const std::vector<std::string>& args, int64_t* value,
                  std::string* error) {
    CLI::App app;
    app.add_option("--revision", *value)
        ->transform(DecimalInt<int64_t>(1, kMax64, "leave it out"));
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
      app.parse(reversed);
    } catch (const CLI::ParseError& e) {
      *error = e.what();
      return false;
    }
    return true;
  };
  int64_t value = 0;
  std::string error;
  ASSERT_TRUE(parse({"--revision", "010"}, &value, &error)) << error;
  EXPECT_EQ(value, 10);
  EXPECT_FALSE(parse({"--revision", "+5"}, &value, &error));
  EXPECT_EQ(error, "--revision: not a decimal integer: \"+5\"");
  EXPECT_FALSE(parse({"--revision", "9223372036854775808"}, &value, &error));
  EXPECT_EQ(error,
            "--revision: not in range 1 to 9223372036854775807, got "
            "9223372036854775808");
  EXPECT_FALSE(parse({"--revision", "0"}, &value, &error));
  EXPECT_EQ(error, "--revision: must be at least 1, got 0 (leave it out)");
}

}  // namespace
}  // namespace content::internal
