#include "pipeline/import/enrichment.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pipeline/core/country.h"
#include "pipeline/core/files.h"
#include "pipeline/core/strings.h"

namespace vigia {
namespace {

constexpr size_t kMaxTableBytes = size_t{256} << 20;

enum Column { kPlatform, kAccount, kCountry, kTarget, kStateAffiliated };
constexpr std::string_view kColumnNames[] = {"platform", "account", "country",
                                             "target", "state_affiliated"};

absl::Status LineError(std::string_view name, int line,
                       std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(ToAbsl(name), ":", line, ": ", ToAbsl(problem)));
}

std::vector<std::string> SplitCells(std::string_view line, char separator) {
  std::vector<std::string> cells =
      absl::StrSplit(ToAbsl(line), separator, absl::AllowEmpty());
  for (std::string& c : cells) {
    c = std::string(absl::StripAsciiWhitespace(c));
  }
  return cells;
}

// An optional country cell: empty is unknown; anything else must be an
// assigned upper-case ISO 3166-1 alpha-2 code.
absl::StatusOr<CountryCode> CountryCell(std::string_view cell) {
  if (cell.empty()) return CountryCode();
  const CountryCode code = ParseCountry(cell);
  if (!code.known()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", ToAbsl(cell),
                     "\" is not an ISO 3166-1 alpha-2 code (upper case)"));
  }
  return code;
}

}  // namespace

absl::StatusOr<EnrichmentTable> EnrichmentTable::Parse(std::string_view text,
                                                       std::string_view name) {
  EnrichmentTable table;
  std::vector<int> columns;  // cell index -> Column
  char separator = ',';
  int number = 0;
  for (absl::string_view raw : absl::StrSplit(ToAbsl(text), '\n')) {
    ++number;
    std::string_view line = FromAbsl(absl::StripAsciiWhitespace(raw));
    if (line.empty() || line.front() == '#') continue;
    if (columns.empty()) {
      // The header: tab-separated when it has a tab, else comma-separated.
      if (line.find('\t') != std::string_view::npos) separator = '\t';
      std::vector<bool> seen(std::size(kColumnNames), false);
      for (const std::string& cell : SplitCells(line, separator)) {
        int found = -1;
        for (size_t i = 0; i < std::size(kColumnNames); ++i) {
          if (cell == kColumnNames[i]) found = static_cast<int>(i);
        }
        if (found < 0) {
          return LineError(name, number,
                           absl::StrCat("unknown column \"", cell,
                                        "\" (expected platform, account, "
                                        "country, target, state_affiliated)"));
        }
        if (seen[found]) {
          return LineError(name, number,
                           absl::StrCat("column ", cell, " given twice"));
        }
        seen[found] = true;
        columns.push_back(found);
      }
      if (!seen[kPlatform] || !seen[kAccount] || !seen[kCountry]) {
        return LineError(
            name, number,
            "the header must name the platform, account and country columns");
      }
      continue;
    }
    const std::vector<std::string> cells = SplitCells(line, separator);
    if (cells.size() != columns.size()) {
      return LineError(
          name, number,
          absl::StrCat(cells.size(), " cells where the header has ",
                       columns.size()));
    }
    std::string platform, account;
    EnrichmentRow row;
    row.line = number;
    for (size_t i = 0; i < cells.size(); ++i) {
      const std::string& cell = cells[i];
      switch (columns[i]) {
        case kPlatform:
          platform = cell;
          break;
        case kAccount:
          account = cell;
          break;
        case kCountry:
        case kTarget: {
          absl::StatusOr<CountryCode> code = CountryCell(cell);
          if (!code.ok()) {
            return LineError(name, number,
                             absl::StrCat(ToAbsl(kColumnNames[columns[i]]),
                                          ": ", code.status().message()));
          }
          (columns[i] == kCountry ? row.country : row.target) = *code;
          break;
        }
        case kStateAffiliated:
          if (cell == "yes") {
            row.state_affiliated = Tristate::kYes;
          } else if (cell == "no") {
            row.state_affiliated = Tristate::kNo;
          } else if (!cell.empty()) {
            return LineError(name, number,
                             absl::StrCat("state_affiliated: \"", cell,
                                          "\" is not yes, no or empty"));
          }
          break;
      }
    }
    if (platform != "x" && platform != "meta") {
      return LineError(
          name, number,
          absl::StrCat("platform \"", platform, "\" is not x or meta"));
    }
    if (account.empty() || account == "@") {
      return LineError(name, number, "empty account");
    }
    if (platform == "meta" && account.front() == '@') {
      return LineError(name, number,
                       "a Meta page is named by its page id, not @name");
    }
    std::string key = absl::StrCat(platform, ":", account);
    if (account.front() == '@') absl::AsciiStrToLower(&key);
    auto [it, inserted] = table.rows_.emplace(std::move(key), row);
    if (!inserted) {
      return LineError(
          name, number,
          absl::StrCat("account ", account, " of ", platform,
                       " already given on line ", it->second.line));
    }
  }
  if (columns.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(name),
                     ": no header line (platform,account,"
                     "country,...)"));
  }
  return table;
}

absl::StatusOr<EnrichmentTable> EnrichmentTable::Load(const std::string& path) {
  absl::StatusOr<std::string> text =
      ReadFileToString(path, kMaxTableBytes, "enrichment table");
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

const EnrichmentRow* EnrichmentTable::FindX(std::string_view user_id,
                                            std::string_view username) const {
  if (!user_id.empty()) {
    auto it = rows_.find(absl::StrCat("x:", ToAbsl(user_id)));
    if (it != rows_.end()) return &it->second;
  }
  if (!username.empty()) {
    std::string key = absl::StrCat("x:@", ToAbsl(username));
    absl::AsciiStrToLower(&key);
    auto it = rows_.find(key);
    if (it != rows_.end()) return &it->second;
  }
  return nullptr;
}

const EnrichmentRow* EnrichmentTable::FindMetaPage(
    std::string_view page_id) const {
  if (page_id.empty()) return nullptr;
  auto it = rows_.find(absl::StrCat("meta:", ToAbsl(page_id)));
  return it == rows_.end() ? nullptr : &it->second;
}

}  // namespace vigia
