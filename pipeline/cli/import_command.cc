// `vigia import`: converts a platform export (Meta Ad Library API results,
// X API v2 search or stream results) into an NDJSON feed vigia replays,
// with origin, target and state affiliation from an enrichment table given
// for the run; every item it cannot convert is dead-lettered with a
// counted reason and its original bytes (docs/import.md).
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pipeline/cli/commands.h"
#include "pipeline/core/country.h"
#include "pipeline/core/files.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"
#include "pipeline/import/enrichment.h"
#include "pipeline/import/platform_import.h"
#include "pipeline/sinks.h"

namespace vigia::cli {
namespace {

// An export is read whole (X search pages must be seen whole to join
// tweets to their authors); a larger one can be split by page or by line.
constexpr size_t kMaxExportBytes = size_t{4} << 30;

std::string DefaultDeadLetterPath(const std::string& out) {
  if (out.empty() || out == "-" || absl::StartsWith(out, "/dev/")) return "";
  std::string base = out;
  for (const char* ext : {".ndjson", ".jsonl", ".json"}) {
    if (absl::EndsWith(base, ext)) {
      base.resize(base.size() - std::strlen(ext));
      break;
    }
  }
  return base + ".dead-letters.ndjson";
}

absl::Status WriteAll(const std::string& path, const std::string& text) {
  FILE* f = path == "-" ? stdout : std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  }
  const size_t n = std::fwrite(text.data(), 1, text.size(), f);
  const bool closed = f == stdout ? std::fflush(f) == 0 : std::fclose(f) == 0;
  if (!closed || n != text.size()) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

// Writes `text` to `path` under its .partial name, then renames it.
absl::Status WriteOutput(const std::string& path, const std::string& text) {
  const StagedOutput staged = StageOutput(path);
  VIGIA_RETURN_IF_ERROR(WriteAll(staged.write_path, text));
  return Commit(staged);
}

std::string SummaryJson(const ImportStats& s, std::string_view format,
                        const std::string& input, const std::string& dead) {
  JsonWriter w;
  w.BeginObject();
  w.Field("format", format);
  w.Field("input", input);
  w.Field("documents", s.documents);
  w.Field("items", s.items);
  w.Field("imported", s.imported);
  w.Field("imported_without_origin", s.imported_without_origin);
  w.Field("rejected", s.rejected_total());
  w.Key("rejected_by_reason");
  w.BeginObject();
  for (const auto& [reason, n] : s.rejected) w.Field(reason, n);
  w.EndObject();
  if (dead.empty()) {
    w.Key("dead_letters");
    w.Null();
  } else {
    w.Field("dead_letters", dead);
  }
  w.EndObject();
  return w.Release();
}

absl::Status RunImport(const ParsedFlags& flags) {
  ExportFormat format;
  const std::string format_name = flags.get("format");
  if (!ParseExportFormat(format_name, &format)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--format: \"", format_name,
                     "\" is not meta (Meta Ad Library API) or x (X API v2)"));
  }
  ImportOptions options;
  options.format = format;
  options.keep_unmapped = flags.has("keep-unmapped");
  if (flags.has("target")) {
    const std::string target = flags.get("target");
    options.default_target = ParseCountry(target);
    if (!options.default_target.known()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--target: \"", target, "\" is not an ISO 3166-1 alpha-2 code"));
    }
  }
  const std::string input = flags.get("input");
  const std::string out = flags.get("out");
  const std::string enrich = flags.get("enrich");
  const std::string dead =
      flags.get("dead-letters", DefaultDeadLetterPath(out));
  const std::string summary = flags.get("summary");
  VIGIA_RETURN_IF_ERROR(CheckOutputsAreNotInputs(
      {{"--input", input}, {"--enrich", enrich}},
      {{"--out", out}, {"--dead-letters", dead}, {"--summary", summary}}));
  absl::StatusOr<EnrichmentTable> table = EnrichmentTable::Load(enrich);
  if (!table.ok()) return table.status();
  absl::StatusOr<std::string> bytes =
      ReadFileToString(input, kMaxExportBytes, "export");
  if (!bytes.ok()) return bytes.status();

  const ImportResult result = ImportExport(*bytes, input, *table, options);

  std::string records;
  for (const ImportedRecord& r : result.records) {
    absl::StrAppend(&records, r.json, "\n");
  }
  VIGIA_RETURN_IF_ERROR(WriteOutput(out, records));
  if (!dead.empty()) {
    std::string letters;
    for (const ImportReject& j : result.rejects) {
      DeadLetter letter;
      letter.reason = j.reason;
      letter.detail = j.detail;
      letter.bytes = j.bytes;
      letter.source = SourceRef{input, -1, j.line};
      absl::StrAppend(&letters, DeadLetterToJson(letter), "\n");
    }
    VIGIA_RETURN_IF_ERROR(WriteOutput(dead, letters));
  }
  const ImportStats& s = result.stats;
  if (!summary.empty()) {
    VIGIA_RETURN_IF_ERROR(WriteOutput(
        summary, SummaryJson(s, ExportFormatName(format), input, dead) + "\n"));
  }
  std::string reasons;
  for (const auto& [reason, n] : s.rejected) {
    absl::StrAppend(&reasons, reasons.empty() ? " (" : ", ", reason, " ", n);
  }
  if (!reasons.empty()) reasons += ")";
  std::fprintf(
      stderr,
      "vigia import: %lld items in %lld documents: %lld imported (%lld "
      "without origin), %lld rejected%s; dead letters %s\n",
      static_cast<long long>(s.items), static_cast<long long>(s.documents),
      static_cast<long long>(s.imported),
      static_cast<long long>(s.imported_without_origin),
      static_cast<long long>(s.rejected_total()), reasons.c_str(),
      dead.empty() ? "not kept (--dead-letters FILE)" : dead.c_str());
  return absl::OkStatus();
}

}  // namespace

Command ImportCommand() {
  Command c;
  c.spec = {
      "import",
      "convert Meta Ad Library or X API v2 results into a vigia feed",
      "Reads an export (--format meta: Meta Ad Library API /ads_archive "
      "results; --format x:\n"
      "X API v2 tweet search pages or stream lines, with includes.users), "
      "one JSON document\n"
      "or one per line, and writes feed records (docs/feeds.md) in event-time "
      "order to --out.\n"
      "Origin, target and state affiliation come from the --enrich table "
      "(platform,account,\n"
      "country,target,state_affiliated), never from a guess; an item that "
      "cannot be converted\n"
      "goes to the dead letters with its reason and original bytes. See "
      "docs/import.md.",
      {{"format", "meta|x", "what the input is", true},
       {"input", "FILE", "the export (JSON, or JSON Lines)", true},
       {"enrich", "FILE", "enrichment table, CSV or TSV (docs/import.md)",
        true},
       {"out", "FILE", "feed records, one JSON object per line (- = stdout)",
        true},
       {"target", "CC",
        "target of records whose table row names none (else: no_target)"},
       {"keep-unmapped", "",
        "import accounts missing from the table without an origin (never "
        "foreign) instead of rejecting them (unmapped_account)"},
       {"dead-letters", "FILE",
        "rejected items (default: beside --out, NAME.dead-letters.ndjson)"},
       {"summary", "FILE", "counts as one JSON object"}}};
  c.run = RunImport;
  return c;
}

}  // namespace vigia::cli
