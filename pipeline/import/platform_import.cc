#include "pipeline/import/platform_import.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "pipeline/decoder.h"
#include "simdjson.h"

namespace vigia {
namespace {

using simdjson::SUCCESS;
namespace dom = simdjson::dom;
namespace ondemand = simdjson::ondemand;

// A conversion problem: a stable reason and a line for a person.
struct Problem {
  std::string reason;
  std::string detail;
};

Problem Missing(std::string_view field) {
  return {"missing_field", absl::StrCat("missing field ", ToAbsl(field))};
}
Problem WrongType(std::string_view field, std::string_view expected) {
  return {"wrong_type", absl::StrCat("wrong type for ", ToAbsl(field),
                                     ": expected ", ToAbsl(expected))};
}

// A field that may be absent or null ("not reported").
bool Present(dom::element parent, std::string_view key, dom::element* out) {
  if (parent[key].get(*out) != SUCCESS) return false;
  return !out->is_null();
}

// An optional string field; a problem when present with another type.
std::optional<Problem> OptionalString(dom::element parent, std::string_view key,
                                      std::string_view path,
                                      std::string_view* out) {
  *out = {};
  dom::element e;
  if (!Present(parent, key, &e)) return std::nullopt;
  if (e.get_string().get(*out) != SUCCESS) return WrongType(path, "string");
  return std::nullopt;
}

// A required id: a non-empty string, or an unsigned integer (some tools
// write page ids as numbers), returned as text.
std::optional<Problem> RequiredId(dom::element parent, std::string_view key,
                                  std::string* out) {
  dom::element e;
  if (!Present(parent, key, &e)) return Missing(key);
  std::string_view s;
  uint64_t n = 0;
  if (e.get_string().get(s) == SUCCESS) {
    if (s.empty())
      return Problem{"bad_value", absl::StrCat("empty ", ToAbsl(key))};
    *out = std::string(s);
    return std::nullopt;
  }
  if (e.get_uint64().get(n) == SUCCESS) {
    *out = absl::StrCat(n);
    return std::nullopt;
  }
  return WrongType(key, "string");
}

// An array of strings (absent or null: empty).
std::optional<Problem> StringArray(dom::element parent, std::string_view key,
                                   std::vector<std::string_view>* out) {
  out->clear();
  dom::element e;
  if (!Present(parent, key, &e)) return std::nullopt;
  dom::array items;
  if (e.get_array().get(items) != SUCCESS) {
    return WrongType(key, "array of strings");
  }
  for (dom::element item : items) {
    std::string_view s;
    if (item.get_string().get(s) != SUCCESS) {
      return WrongType(key, "array of strings");
    }
    out->push_back(s);
  }
  return std::nullopt;
}

// Times in exports: RFC 3339 (X: "2026-10-25T18:01:02.000Z"), the Graph
// API's "2026-10-25T18:01:02+0000" (no colon in the offset), or a bare date
// "2026-10-25" (the Ad Library's delivery dates), read as 00:00 UTC.
absl::StatusOr<absl::Time> ParseExportTime(std::string_view text) {
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    return ParseRfc3339(absl::StrCat(ToAbsl(text), "T00:00:00Z"));
  }
  if (text.size() >= 5) {
    const std::string_view tail = text.substr(text.size() - 5);
    if ((tail[0] == '+' || tail[0] == '-') &&
        std::all_of(tail.begin() + 1, tail.end(),
                    [](char c) { return c >= '0' && c <= '9'; })) {
      return ParseRfc3339(absl::StrCat(ToAbsl(text.substr(0, text.size() - 2)),
                                       ":", ToAbsl(tail.substr(3))));
    }
  }
  return ParseRfc3339(text);
}

std::optional<Problem> RequiredTime(dom::element parent, std::string_view key,
                                    absl::Time* out) {
  dom::element e;
  if (!Present(parent, key, &e)) return Missing(key);
  std::string_view s;
  if (e.get_string().get(s) != SUCCESS) return WrongType(key, "string");
  absl::StatusOr<absl::Time> t = ParseExportTime(s);
  if (!t.ok()) {
    return Problem{"bad_time", absl::StrCat("bad time in ", ToAbsl(key), ": ",
                                            t.status().message())};
  }
  *out = *t;
  return std::nullopt;
}

// A bound of an Ad Library range: a string of digits ("1000", as the API
// returns it) or a JSON number. NaN when absent.
std::optional<Problem> Bound(dom::element range, std::string_view key,
                             std::string_view path, double* out) {
  *out = std::numeric_limits<double>::quiet_NaN();
  dom::element e;
  if (!Present(range, key, &e)) return std::nullopt;
  std::string_view s;
  double v = 0;
  if (e.get_string().get(s) == SUCCESS) {
    if (!absl::SimpleAtod(ToAbsl(s), &v) || !(v >= 0) || v > 1e300) {
      return Problem{"bad_value",
                     absl::StrCat("bad value for ", ToAbsl(path), ": \"",
                                  ToAbsl(s.substr(0, 40)), "\"")};
    }
  } else if (e.get_double().get(v) == SUCCESS) {
    if (!(v >= 0)) {
      return Problem{"bad_value", absl::StrCat("bad value for ", ToAbsl(path),
                                               ": negative")};
    }
  } else {
    return WrongType(path, "number or string of digits");
  }
  *out = v;
  return std::nullopt;
}

// Writes a `{lower, upper}` range from the Ad Library's `{lower_bound,
// upper_bound}`. An open range (the top bucket has no upper bound) keeps
// only its lower bound, which the feed contract then ignores.
std::optional<Problem> Range(dom::element ad, std::string_view key,
                             JsonWriter& w) {
  dom::element r;
  if (!Present(ad, key, &r)) return std::nullopt;
  if (!r.is_object()) return WrongType(key, "object");
  double lower = 0, upper = 0;
  const std::string lower_path = absl::StrCat(ToAbsl(key), ".lower_bound");
  const std::string upper_path = absl::StrCat(ToAbsl(key), ".upper_bound");
  if (auto p = Bound(r, "lower_bound", lower_path, &lower)) return p;
  if (auto p = Bound(r, "upper_bound", upper_path, &upper)) return p;
  if (lower != lower && upper != upper) return std::nullopt;
  w.Key(key);
  w.BeginObject();
  if (lower == lower) w.Field("lower", lower);
  if (upper == upper) w.Field("upper", upper);
  w.EndObject();
  return std::nullopt;
}

void Strings(JsonWriter& w, std::string_view key,
             const std::vector<std::string_view>& values) {
  w.Key(key);
  w.BeginArray();
  for (std::string_view v : values) w.String(v);
  w.EndArray();
}

// What the X converter needs of `includes.users`.
struct XUser {
  std::string username;
  std::string created_at;  // as given; checked when used
  int64_t followers = -1;  // -1 = not given
};
using XUsers = absl::flat_hash_map<std::string, XUser>;

void CollectUsers(dom::element root, XUsers* users) {
  dom::array list;
  if (root.at_pointer("/includes/users").get_array().get(list) != SUCCESS) {
    return;
  }
  for (dom::element u : list) {
    std::string_view id;
    if (u["id"].get_string().get(id) != SUCCESS || id.empty()) continue;
    XUser user;
    std::string_view s;
    if (u["username"].get_string().get(s) == SUCCESS) user.username = s;
    if (u["created_at"].get_string().get(s) == SUCCESS) user.created_at = s;
    int64_t followers = 0;
    if (u.at_pointer("/public_metrics/followers_count")
                .get_int64()
                .get(followers) == SUCCESS &&
        followers >= 0) {
      user.followers = followers;
    }
    users->emplace(std::string(id), std::move(user));
  }
}

struct Converted {
  std::string id;
  absl::Time created_at;
  bool has_origin = false;
  std::string json;
};

class Converter {
 public:
  Converter(std::string_view source, const EnrichmentTable& table,
            const ImportOptions& options)
      : source_(source), table_(table), options_(options) {}

  // Converts one item; `users` is its document's includes.users (X).
  std::variant<Converted, Problem> Convert(dom::element item,
                                           const XUsers& users, int64_t line) {
    JsonWriter w;
    Converted c;
    std::optional<Problem> p = options_.format == ExportFormat::kXV2
                                   ? Tweet(item, users, w, &c)
                                   : Ad(item, w, &c);
    if (p) return *p;
    w.Key("import");
    w.BeginObject();
    w.Field("format", ExportFormatName(options_.format));
    w.Field("file", source_);
    w.Field("line", line);
    w.EndObject();
    w.EndObject();
    c.json = w.Release();
    return c;
  }

 private:
  // The enrichment of an account: its row, or a problem, or (keep_unmapped)
  // no row. Fills the target.
  std::optional<Problem> Enrich(const EnrichmentRow* row, std::string_view who,
                                CountryCode* target) {
    if (row == nullptr && !options_.keep_unmapped) {
      return Problem{
          "unmapped_account",
          absl::StrCat(ToAbsl(who), " is not in the enrichment table")};
    }
    *target = row != nullptr && row->target.known() ? row->target
                                                    : options_.default_target;
    if (!target->known()) {
      return Problem{"no_target",
                     absl::StrCat("no target for ", ToAbsl(who),
                                  ": its table row names none and no "
                                  "--target was given")};
    }
    return std::nullopt;
  }

  std::optional<Problem> Tweet(dom::element t, const XUsers& users,
                               JsonWriter& w, Converted* c) {
    if (auto p = RequiredId(t, "id", &c->id)) return p;
    if (auto p = RequiredTime(t, "created_at", &c->created_at)) return p;
    std::string author;
    if (auto p = RequiredId(t, "author_id", &author)) return p;
    std::string_view text, lang;
    if (auto p = OptionalString(t, "text", "text", &text)) return p;
    if (auto p = OptionalString(t, "lang", "lang", &lang)) return p;
    std::vector<std::string_view> urls, hashtags;
    dom::array list;
    if (t.at_pointer("/entities/urls").get_array().get(list) == SUCCESS) {
      for (dom::element u : list) {
        // The link as written, without t.co: unwound (after redirects)
        // when the API gives it, else expanded.
        std::string_view url;
        for (const char* key : {"unwound_url", "expanded_url", "url"}) {
          if (u[key].get_string().get(url) == SUCCESS && !url.empty()) break;
        }
        if (!url.empty()) urls.push_back(url);
      }
    }
    if (t.at_pointer("/entities/hashtags").get_array().get(list) == SUCCESS) {
      for (dom::element h : list) {
        std::string_view tag;
        if (h["tag"].get_string().get(tag) == SUCCESS && !tag.empty()) {
          hashtags.push_back(tag);
        }
      }
    }
    std::string_view repost_of;
    if (t["referenced_tweets"].get_array().get(list) == SUCCESS) {
      for (dom::element r : list) {
        std::string_view type;
        if (r["type"].get_string().get(type) == SUCCESS &&
            type == "retweeted") {
          if (r["id"].get_string().get(repost_of) != SUCCESS) repost_of = {};
        }
      }
    }
    int64_t reposts = -1;
    if (t.at_pointer("/public_metrics/retweet_count")
            .get_int64()
            .get(reposts) != SUCCESS) {
      reposts = -1;
    }

    const XUser* user = nullptr;
    if (auto it = users.find(author); it != users.end()) user = &it->second;
    const EnrichmentRow* row =
        table_.FindX(author, user != nullptr ? user->username : "");
    CountryCode target;
    if (auto p =
            Enrich(row,
                   absl::StrCat("X account ", author,
                                user != nullptr && !user->username.empty()
                                    ? absl::StrCat(" (@", user->username, ")")
                                    : ""),
                   &target)) {
      return p;
    }
    std::optional<absl::Time> account_created;
    if (user != nullptr && !user->created_at.empty()) {
      absl::StatusOr<absl::Time> at = ParseExportTime(user->created_at);
      if (!at.ok()) {
        return Problem{"bad_time",
                       absl::StrCat("bad time in includes.users[", author,
                                    "].created_at: ", at.status().message())};
      }
      account_created = *at;
    }

    w.BeginObject();
    w.Field("id", c->id);
    w.Field("platform", "x");
    w.Field("created_at", FormatRfc3339(c->created_at));
    w.Key("account");
    w.BeginObject();
    w.Field("id", author);
    if (user != nullptr && !user->username.empty()) {
      w.Field("username", user->username);
    }
    if (account_created) {
      w.Field("created_at", FormatRfc3339(*account_created));
    }
    if (row != nullptr && row->country.known()) {
      w.Field("country", row->country.str());
      c->has_origin = true;
    }
    if (row != nullptr && row->state_affiliated != Tristate::kUnknown) {
      w.Field("state_affiliated", row->state_affiliated == Tristate::kYes);
    }
    if (user != nullptr && user->followers >= 0) {
      w.Field("followers", user->followers);
    }
    w.EndObject();
    w.Field("target", target.str());
    // "und" is X's "undetermined": not a language.
    if (!lang.empty() && lang != "und") w.Field("lang", lang);
    if (!text.empty()) w.Field("text", text);
    if (!urls.empty()) Strings(w, "urls", urls);
    if (!hashtags.empty()) Strings(w, "hashtags", hashtags);
    if (!repost_of.empty()) w.Field("repost_of", repost_of);
    if (reposts >= 0) w.Field("reposts", reposts);
    return std::nullopt;
  }

  std::optional<Problem> Ad(dom::element a, JsonWriter& w, Converted* c) {
    if (auto p = RequiredId(a, "id", &c->id)) return p;
    std::string page_id;
    if (auto p = RequiredId(a, "page_id", &page_id)) return p;
    if (auto p = RequiredTime(a, "ad_delivery_start_time", &c->created_at)) {
      return p;
    }
    std::string_view page_name, currency;
    if (auto p = OptionalString(a, "page_name", "page_name", &page_name)) {
      return p;
    }
    if (auto p = OptionalString(a, "currency", "currency", &currency)) {
      return p;
    }
    // bylines: the "Paid for by" entity; a string, or (some collectors) an
    // array of strings, joined.
    std::string bylines;
    dom::element b;
    if (Present(a, "bylines", &b)) {
      std::string_view s;
      dom::array parts;
      if (b.get_string().get(s) == SUCCESS) {
        bylines = s;
      } else if (b.get_array().get(parts) == SUCCESS) {
        for (dom::element part : parts) {
          if (part.get_string().get(s) != SUCCESS) {
            return WrongType("bylines", "string or array of strings");
          }
          if (!s.empty())
            absl::StrAppend(&bylines, bylines.empty() ? "" : "; ", ToAbsl(s));
        }
      } else {
        return WrongType("bylines", "string or array of strings");
      }
    }
    if (bylines.empty() && page_name.empty()) {
      return Problem{"missing_field",
                     "missing field bylines (and no page_name to name the "
                     "payer)"};
    }
    std::vector<std::string_view> languages, bodies, platforms;
    if (auto p = StringArray(a, "languages", &languages)) return p;
    if (auto p = StringArray(a, "ad_creative_bodies", &bodies)) return p;
    if (auto p = StringArray(a, "publisher_platforms", &platforms)) return p;
    std::optional<absl::Time> stopped;
    dom::element stop;
    if (Present(a, "ad_delivery_stop_time", &stop)) {
      absl::Time t;
      if (auto p = RequiredTime(a, "ad_delivery_stop_time", &t)) return p;
      stopped = t;
    }
    const EnrichmentRow* row = table_.FindMetaPage(page_id);
    CountryCode target;
    std::string who = absl::StrCat("Meta page ", page_id);
    if (!page_name.empty()) absl::StrAppend(&who, " (", ToAbsl(page_name), ")");
    if (auto p = Enrich(row, who, &target)) return p;

    w.BeginObject();
    w.Field("id", c->id);
    w.Field("platform", "meta");
    w.Field("created_at", FormatRfc3339(c->created_at));
    w.Field("page_id", page_id);
    if (!page_name.empty()) w.Field("page_name", page_name);
    w.Key("payer");
    w.BeginObject();
    // Without bylines the ad ran without a "Paid for by": the page is the
    // only name there is, and the record says so (no disclaimer).
    w.Field("name", bylines.empty() ? std::string(page_name) : bylines);
    w.Field("named_by", bylines.empty() ? "page_name" : "bylines");
    if (row != nullptr && row->country.known()) {
      w.Field("country", row->country.str());
      c->has_origin = true;
    }
    w.EndObject();
    w.Field("target", target.str());
    if (!currency.empty()) w.Field("currency", currency);
    if (auto p = Range(a, "spend", w)) return p;
    if (auto p = Range(a, "impressions", w)) return p;
    if (!languages.empty()) Strings(w, "languages", languages);
    if (!bylines.empty()) w.Field("disclaimer", bylines);
    if (!bodies.empty()) Strings(w, "ad_creative_bodies", bodies);
    if (!platforms.empty()) Strings(w, "publisher_platforms", platforms);
    if (stopped) w.Field("stopped_at", FormatRfc3339(*stopped));
    dom::element regions;
    if (Present(a, "delivery_by_region", &regions)) {
      w.Key("delivery_by_region");
      w.Raw(simdjson::minify(regions));
    }
    return std::nullopt;
  }

  std::string_view source_;
  const EnrichmentTable& table_;
  const ImportOptions& options_;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The import of one file.
class Run {
 public:
  Run(std::string_view input, std::string_view source,
      const EnrichmentTable& table, const ImportOptions& options)
      : input_(input),
        converter_(source, table, options),
        decoder_(DecoderOptions{}),
        source_(source) {}

  ImportResult Go() {
    std::string_view body = input_;
    size_t skip = 0;
    if (body.substr(0, 3) == "\xEF\xBB\xBF") skip = 3;  // a UTF-8 BOM
    const std::string_view all = body.substr(skip);
    if (IsJsonLines(all)) {
      // One document per line; a line that is not JSON is one rejection.
      size_t start = skip;
      while (start < input_.size()) {
        size_t end = input_.find('\n', start);
        if (end == std::string_view::npos) end = input_.size();
        const std::string_view line = input_.substr(start, end - start);
        if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
          Document(start, line.size());
        }
        start = end + 1;
      }
    } else {
      Document(skip, all.size());
    }
    std::stable_sort(result_.records.begin(), result_.records.end(),
                     [](const ImportedRecord& a, const ImportedRecord& b) {
                       return a.created_at < b.created_at;
                     });
    return std::move(result_);
  }

 private:
  // JSON Lines when the file has several non-blank lines and one of the
  // first two is a whole JSON document (the first may be damaged): decided
  // on two lines, so a large JSON Lines file is never parsed whole, and a
  // damaged pretty-printed page ("{", then "\"data\": [") stays one
  // document, rejected once.
  bool IsJsonLines(std::string_view all) {
    int lines = 0;
    bool parses = false;
    size_t start = 0;
    while (start < all.size() && lines < 3) {
      size_t end = all.find('\n', start);
      if (end == std::string_view::npos) end = all.size();
      const std::string_view line = all.substr(start, end - start);
      if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
        ++lines;
        dom::element unused;
        if (lines <= 2 &&
            whole_parser_.parse(line.data(), line.size()).get(unused) ==
                SUCCESS) {
          parses = true;
        }
      }
      start = end + 1;
    }
    return lines >= 2 && parses;
  }

  int64_t LineAt(size_t offset) {
    // Items come in input order, so the count moves forward only.
    if (offset < line_offset_) {
      line_offset_ = 0;
      line_ = 1;
    }
    line_ += std::count(input_.begin() + line_offset_, input_.begin() + offset,
                        '\n');
    line_offset_ = offset;
    return line_;
  }

  void Reject(std::string reason, std::string detail, std::string_view bytes,
              size_t offset) {
    ++result_.stats.rejected[reason];
    result_.rejects.push_back(
        {std::move(reason), std::move(detail), bytes, LineAt(offset)});
  }

  // One JSON document at input_[offset, offset + size).
  void Document(size_t offset, size_t size) {
    ++result_.stats.documents;
    std::string_view bytes = input_.substr(offset, size);
    // Surrounding whitespace (a CRLF line's \r) is not part of the item.
    while (!bytes.empty() && IsSpace(bytes.front())) {
      bytes.remove_prefix(1);
      ++offset;
    }
    while (!bytes.empty() && IsSpace(bytes.back())) bytes.remove_suffix(1);
    const simdjson::padded_string copy(bytes.data(), bytes.size());
    dom::element root;
    if (doc_parser_.parse(copy).get(root) != SUCCESS) {
      ++result_.stats.items;
      Reject("malformed_json", "not a JSON document", bytes, offset);
      return;
    }
    XUsers users;
    CollectUsers(root, &users);
    // Where the items are: raw spans of the copy, sliced with On-Demand
    // (the DOM keeps no byte positions).
    std::vector<std::string_view> items;
    bool whole = false;  // the document is one item (or one stream line)
    ondemand::document doc;
    if (od_parser_.iterate(copy).get(doc) != SUCCESS) return;
    if (root.is_array()) {
      ondemand::array array;
      if (doc.get_array().get(array) == SUCCESS) SliceArray(array, &items);
    } else if (root.is_object()) {
      dom::element data;
      if (root["data"].get(data) == SUCCESS) {
        ondemand::value v;
        if (doc.find_field_unordered("data").get(v) != SUCCESS) return;
        if (data.is_array()) {
          ondemand::array array;
          if (v.get_array().get(array) == SUCCESS) SliceArray(array, &items);
        } else if (data.is_object()) {
          items.push_back(copy);  // a stream line: the line is the record
          whole = true;
        } else {
          ++result_.stats.items;
          Reject("not_an_item", "\"data\" is neither an array nor an object",
                 bytes, offset);
          return;
        }
      } else if (root["errors"].error() == SUCCESS ||
                 root["error"].error() == SUCCESS) {
        ++result_.stats.items;
        Reject("api_error", "an API error response, not data", bytes, offset);
        return;
      } else {
        items.push_back(copy);  // one bare ad or tweet
        whole = true;
      }
    } else {
      ++result_.stats.items;
      Reject("not_an_item", "a JSON value that is not an object or array",
             bytes, offset);
      return;
    }
    for (std::string_view raw : items) {
      ++result_.stats.items;
      const size_t at = offset + static_cast<size_t>(raw.data() - copy.data());
      const std::string_view original = input_.substr(at, raw.size());
      dom::element item;
      if (raw.empty() || raw.front() != '{' ||
          item_parser_.parse(raw.data(), raw.size()).get(item) != SUCCESS) {
        Reject("not_an_item", "an item that is not a JSON object", original,
               at);
        continue;
      }
      if (whole) {
        dom::element data;
        if (item["data"].get(data) == SUCCESS && data.is_object()) item = data;
      }
      Item(item, users, original, at);
    }
  }

  void SliceArray(ondemand::array& array, std::vector<std::string_view>* out) {
    for (auto element : array) {
      ondemand::value v;
      if (element.get(v) != SUCCESS) return;
      ondemand::object o;
      std::string_view raw;
      if (v.get_object().get(o) == SUCCESS) {
        if (o.raw_json().get(raw) != SUCCESS) return;
      } else {
        raw = v.raw_json_token();
      }
      out->push_back(raw);
    }
  }

  void Item(dom::element item, const XUsers& users, std::string_view original,
            size_t at) {
    const int64_t line = LineAt(at);
    auto converted = converter_.Convert(item, users, line);
    if (auto* p = std::get_if<Problem>(&converted)) {
      Reject(std::move(p->reason), std::move(p->detail), original, at);
      return;
    }
    Converted& c = std::get<Converted>(converted);
    auto [seen, inserted] = seen_.emplace(c.id, line);
    if (!inserted) {
      Reject("duplicate",
             absl::StrCat("id ", c.id, " already imported from line ",
                          seen->second),
             original, at);
      return;
    }
    const SourceRef ref{source_, -1, line};
    if (decoder_.DecodeUnpadded(c.json, ref) != RejectReason::kNone) {
      seen_.erase(seen);
      Reject("feed_contract",
             absl::StrCat("the converted record breaks the feed contract: ",
                          ToAbsl(RejectReasonName(decoder_.reason())), ": ",
                          ToAbsl(decoder_.detail())),
             original, at);
      return;
    }
    ++result_.stats.imported;
    if (!c.has_origin) ++result_.stats.imported_without_origin;
    result_.records.push_back({c.created_at, std::move(c.json)});
  }

  const std::string_view input_;
  Converter converter_;
  Decoder decoder_;
  const std::string_view source_;
  dom::parser whole_parser_, doc_parser_, item_parser_;
  ondemand::parser od_parser_;
  absl::flat_hash_map<std::string, int64_t> seen_;  // id -> line
  size_t line_offset_ = 0;
  int64_t line_ = 1;
  ImportResult result_;
};

}  // namespace

bool ParseExportFormat(std::string_view name, ExportFormat* format) {
  if (name == "meta") {
    *format = ExportFormat::kMetaAdLibrary;
    return true;
  }
  if (name == "x") {
    *format = ExportFormat::kXV2;
    return true;
  }
  return false;
}

std::string_view ExportFormatName(ExportFormat format) {
  return format == ExportFormat::kMetaAdLibrary ? "meta" : "x";
}

int64_t ImportStats::rejected_total() const {
  int64_t n = 0;
  for (const auto& [reason, count] : rejected) n += count;
  return n;
}

ImportResult ImportExport(std::string_view input, std::string_view source,
                          const EnrichmentTable& table,
                          const ImportOptions& options) {
  return Run(input, source, table, options).Go();
}

}  // namespace vigia
