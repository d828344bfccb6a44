// Converts platform exports into vigia's feed contract (docs/feeds.md), for
// `vigia import` (docs/import.md):
// - Meta Ad Library API results (`/ads_archive`): a response page
//   `{"data":[ad, ...], "paging":...}`, an array of ads, or one ad per line;
//   each ad becomes an ad record.
// - X API v2 tweet search results (`{"data":[tweet, ...], "includes":
//   {"users":[...]}, "meta":...}`) and filtered or sampled stream lines
//   (`{"data":tweet, "includes":...}`, one per line); each tweet becomes a
//   post record, its author's details taken from `includes.users`.
// A file holds one JSON document, or one per line (JSON Lines, as twarc2
// and the stream write them). Origin, target and state affiliation come
// from the run's EnrichmentTable, never from a guess.
//
// Every item ends up either as one output record or as one rejection with
// a stable reason and the item's original bytes; the counts add up
// (ImportStats). Output records are checked with vigia's own decoder, so
// everything written replays. Records are returned in event-time order
// (search results come newest first; replay wants them oldest first).
//
// An Importer is used on one thread.
#ifndef VIGIA_PIPELINE_IMPORT_PLATFORM_IMPORT_H_
#define VIGIA_PIPELINE_IMPORT_PLATFORM_IMPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pipeline/core/types.h"
#include "pipeline/import/enrichment.h"

namespace vigia {

enum class ExportFormat { kMetaAdLibrary, kXV2 };

// "meta" or "x" (the --format values); false for anything else.
bool ParseExportFormat(std::string_view name, ExportFormat* format);
std::string_view ExportFormatName(ExportFormat format);

struct ImportOptions {
  ExportFormat format = ExportFormat::kXV2;
  // The target of records whose table row names none; unknown = none, and
  // such records are rejected (`no_target`).
  CountryCode default_target;
  // Import records whose account or page is not in the table, without an
  // origin (never foreign), instead of rejecting them (`unmapped_account`).
  bool keep_unmapped = false;
};

// One item that could not be converted. `reason` is one of the stable names
// in docs/import.md; `bytes` views the input (the item's original bytes).
struct ImportReject {
  std::string reason;
  std::string detail;
  std::string_view bytes;
  int64_t line = 0;  // 1-based line of the input where the item starts
};

struct ImportedRecord {
  absl::Time created_at;
  std::string json;  // one feed record, no newline
};

struct ImportStats {
  int64_t documents = 0;  // JSON documents read (pages, stream lines)
  int64_t items = 0;      // ads or tweets found in them
  int64_t imported = 0;
  int64_t imported_without_origin = 0;      // keep_unmapped records
  std::map<std::string, int64_t> rejected;  // by reason
  int64_t rejected_total() const;
};

struct ImportResult {
  std::vector<ImportedRecord> records;  // in event-time order (stable)
  std::vector<ImportReject> rejects;    // in input order
  ImportStats stats;
};

// Converts the whole export `input` (the file's bytes; `source` names it in
// each record's `import` field). Rejects view `input`, which must outlive
// the result. Never fails: damage is reported per item.
ImportResult ImportExport(std::string_view input, std::string_view source,
                          const EnrichmentTable& table,
                          const ImportOptions& options);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_IMPORT_PLATFORM_IMPORT_H_
