// The enrichment table `vigia import` takes per run: which country each
// platform account or ad page operates from, which electorate its records
// are aimed at, and whether it is state-affiliated. Platform exports carry
// none of these, and vigia does not guess them (docs/import.md): a record
// whose account is not in the table is dead-lettered (or, when asked,
// imported without an origin, which is never foreign).
//
// The table is CSV or TSV with a header naming its columns:
//   platform,account,country,target,state_affiliated
//   x,1457891234,MX,US,yes
//   x,@sre_mx,MX,US,
//   meta,104857600123,RU,MX,
// `account` is an X user id, an X username after `@` (case-insensitive), or
// a Meta page id. Empty `country` states that the origin is unknown; empty
// `target` leaves it to `vigia import --target`; `state_affiliated` is
// yes, no or empty (unknown). Lines starting with `#` and blank lines are
// skipped.
//
// A loaded table is immutable; concurrent lookups are safe.
#ifndef VIGIA_PIPELINE_IMPORT_ENRICHMENT_H_
#define VIGIA_PIPELINE_IMPORT_ENRICHMENT_H_

#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "pipeline/core/event.h"
#include "pipeline/core/types.h"

namespace vigia {

struct EnrichmentRow {
  CountryCode country;  // unknown when the row leaves it empty
  CountryCode target;   // unknown when the row leaves it empty
  Tristate state_affiliated = Tristate::kUnknown;
  int line = 0;  // in the table file, for messages
};

class EnrichmentTable {
 public:
  // Parses the table text; `name` (the file path) prefixes errors, which are
  // InvalidArgument "<name>:<line>: <problem>" (an unknown column, a
  // platform other than x or meta, a country that is not ISO 3166-1
  // alpha-2, an account given twice, ...).
  static absl::StatusOr<EnrichmentTable> Parse(std::string_view text,
                                               std::string_view name);
  // Reads and parses a file (at most 256 MiB).
  static absl::StatusOr<EnrichmentTable> Load(const std::string& path);

  // The row of an X account: by user id first, then by username (without
  // `@`; either may be empty). Null when neither is in the table.
  const EnrichmentRow* FindX(std::string_view user_id,
                             std::string_view username) const;
  // The row of a Meta page, or null.
  const EnrichmentRow* FindMetaPage(std::string_view page_id) const;

  size_t size() const { return rows_.size(); }

 private:
  // Keys: "x:<id>", "x:@<lower-case username>", "meta:<page id>".
  absl::flat_hash_map<std::string, EnrichmentRow> rows_;
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_IMPORT_ENRICHMENT_H_
