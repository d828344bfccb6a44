// A small append-only JSON writer for vigia's own output records (alerts,
// dead letters, summaries). Output is deterministic: numbers are printed with
// a fixed rule, keys in the order written. Not thread-safe; one per thread.
//
// Example:
//   JsonWriter w;
//   w.BeginObject();
//   w.Key("id"); w.String("a1");
//   w.Key("score"); w.Double(3.25);
//   w.EndObject();
//   std::string_view json = w.view();
#ifndef VIGIA_PIPELINE_CORE_JSON_WRITER_H_
#define VIGIA_PIPELINE_CORE_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigia {

class JsonWriter {
 public:
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(std::string_view key);
  // Writes a string value. REQUIRES: `s` is valid UTF-8 (input strings are
  // validated by the decoder); control characters are escaped.
  void String(std::string_view s);
  void Int(int64_t v);
  // Finite values print with up to 4 decimals, trailing zeros trimmed; NaN
  // and infinities print as null, since JSON has no spelling for them.
  void Double(double v);
  void Bool(bool v);
  void Null();
  // Inserts an already-encoded JSON value.
  void Raw(std::string_view json);

  // Shorthands for Key() followed by a value.
  void Field(std::string_view key, std::string_view v) { Key(key), String(v); }
  void Field(std::string_view key, const char* v) { Key(key), String(v); }
  void Field(std::string_view key, int64_t v) { Key(key), Int(v); }
  void Field(std::string_view key, int v) { Key(key), Int(v); }
  void Field(std::string_view key, double v) { Key(key), Double(v); }
  void Field(std::string_view key, bool v) { Key(key), Bool(v); }

  std::string_view view() const { return out_; }
  std::string Release() { return std::move(out_); }
  void Clear();

  // Appends `s` to `out` as a quoted, escaped JSON string.
  static void AppendQuoted(std::string_view s, std::string* out);

 private:
  void Separate();
  std::string out_;
  // One entry per open container: true once it has an element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CORE_JSON_WRITER_H_
