#include "pipeline/core/json_writer.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace vigia {
namespace {

std::string Quoted(std::string_view s) {
  std::string out;
  JsonWriter::AppendQuoted(s, &out);
  return out;
}

std::string DoubleText(double v) {
  JsonWriter w;
  w.Double(v);
  return std::string(w.view());
}

TEST(JsonWriter, WritesNestedContainersWithCommasOnlyBetweenElements) {
  JsonWriter w;
  w.BeginObject();
  w.Field("a", int64_t{1});
  w.Key("list");
  w.BeginArray();
  w.Int(1);
  w.BeginObject();
  w.EndObject();
  w.BeginArray();
  w.EndArray();
  w.BeginObject();
  w.Field("x", "y");
  w.Key("n");
  w.Null();
  w.EndObject();
  w.EndArray();
  w.Key("empty");
  w.BeginObject();
  w.EndObject();
  w.Field("ok", true);
  w.Field("no", false);
  w.EndObject();
  EXPECT_EQ(w.view(),
            R"({"a":1,"list":[1,{},[],{"x":"y","n":null}],"empty":{},)"
            R"("ok":true,"no":false})");
}

TEST(JsonWriter, TopLevelArrayAndScalars) {
  JsonWriter w;
  w.BeginArray();
  w.String("s");
  w.Int(-42);
  w.Double(0.5);
  w.Bool(false);
  w.Null();
  w.Raw(R"({"pre":"encoded"})");
  w.EndArray();
  EXPECT_EQ(w.view(), R"(["s",-42,0.5,false,null,{"pre":"encoded"}])");
}

TEST(JsonWriter, RawValueAfterKey) {
  JsonWriter w;
  w.BeginObject();
  w.Key("a");
  w.Raw("[1,2]");
  w.Key("b");
  w.Raw("3");
  w.EndObject();
  EXPECT_EQ(w.view(), R"({"a":[1,2],"b":3})");
}

TEST(JsonWriter, FieldOverloadsPickTheRightType) {
  JsonWriter w;
  w.BeginObject();
  w.Field("int", 7);
  w.Field("int64", int64_t{1} << 40);
  w.Field("double", 2.5);
  w.Field("cstr", "text");
  w.Field("view", std::string_view("view"));
  w.Field("bool", true);
  w.EndObject();
  EXPECT_EQ(w.view(),
            R"({"int":7,"int64":1099511627776,"double":2.5,"cstr":"text",)"
            R"("view":"view","bool":true})");
}

TEST(JsonWriter, IntPrintsTheFullRange) {
  JsonWriter w;
  w.BeginArray();
  w.Int(std::numeric_limits<int64_t>::min());
  w.Int(std::numeric_limits<int64_t>::max());
  w.Int(0);
  w.EndArray();
  EXPECT_EQ(w.view(), "[-9223372036854775808,9223372036854775807,0]");
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Quoted("plain"), "\"plain\"");
  EXPECT_EQ(Quoted("say \"hi\""), R"("say \"hi\"")");
  EXPECT_EQ(Quoted("C:\\path"), R"("C:\\path")");
  EXPECT_EQ(Quoted("a\nb\rc\td"), R"("a\nb\rc\td")");
  EXPECT_EQ(Quoted(std::string_view("\0", 1)), R"("\u0000")");
  EXPECT_EQ(Quoted("\x01\x08\x0c\x1f"), R"("\u0001\u0008\u000c\u001f")");
  // DEL and the solidus need no escape; non-ASCII UTF-8 passes through.
  EXPECT_EQ(Quoted("\x7f/"), "\"\x7f/\"");
  EXPECT_EQ(Quoted("Ελλάδα 🗳"), "\"Ελλάδα 🗳\"");
}

TEST(JsonWriter, EscapesKeysToo) {
  JsonWriter w;
  w.BeginObject();
  w.Field("we\"ird\nkey", 1);
  w.EndObject();
  EXPECT_EQ(w.view(), R"({"we\"ird\nkey":1})");
}

TEST(JsonWriter, DoublesUseAtMostFourDecimalsWithoutTrailingZeros) {
  EXPECT_EQ(DoubleText(0), "0");
  EXPECT_EQ(DoubleText(1), "1");
  EXPECT_EQ(DoubleText(100), "100");
  EXPECT_EQ(DoubleText(2.5), "2.5");
  EXPECT_EQ(DoubleText(-2.5), "-2.5");
  EXPECT_EQ(DoubleText(1.0 / 3), "0.3333");
  EXPECT_EQ(DoubleText(2.0 / 3), "0.6667");
  EXPECT_EQ(DoubleText(0.12345), "0.1235");
  EXPECT_EQ(DoubleText(1e-5), "0");
  EXPECT_EQ(DoubleText(12345678.9), "12345678.9");
  EXPECT_EQ(DoubleText(1e15), "1000000000000000");
}

TEST(JsonWriter, NegativeZeroAndTinyNegativesPrintAsZero) {
  EXPECT_EQ(DoubleText(-0.0), "0");
  EXPECT_EQ(DoubleText(-1e-7), "0");
  EXPECT_EQ(DoubleText(-0.00004), "0");
}

TEST(JsonWriter, NonFiniteDoublesPrintAsNull) {
  JsonWriter w;
  w.BeginArray();
  w.Double(std::numeric_limits<double>::quiet_NaN());
  w.Double(std::numeric_limits<double>::infinity());
  w.Double(-std::numeric_limits<double>::infinity());
  w.EndArray();
  EXPECT_EQ(w.view(), "[null,null,null]");
}

TEST(JsonWriter, ClearStartsAFreshDocument) {
  JsonWriter w;
  w.BeginObject();
  w.Field("a", 1);
  w.Clear();
  EXPECT_EQ(w.view(), "");
  w.BeginArray();
  w.Int(2);
  w.EndArray();
  EXPECT_EQ(w.view(), "[2]");
}

TEST(JsonWriter, ReleaseHandsOverTheText) {
  JsonWriter w;
  w.BeginArray();
  w.EndArray();
  EXPECT_EQ(w.Release(), "[]");
}

}  // namespace
}  // namespace vigia
