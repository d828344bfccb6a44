// Fuzz target for `vigia import`: any bytes, read as either platform's
// export, must convert or be rejected item by item, without crashing or
// hanging; the counts add up, every rejection's bytes lie inside the input,
// and every record written decodes under the feed contract. Built as a
// libFuzzer binary with VIGIA_LIBFUZZER, and otherwise linked with
// tests/fuzz_replay_main.cc to replay the seed corpus in ctest.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pipeline/decoder.h"
#include "pipeline/import/enrichment.h"
#include "pipeline/import/platform_import.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

const vigia::EnrichmentTable& Table() {
  static const vigia::EnrichmentTable* table = [] {
    auto t = vigia::EnrichmentTable::Parse(
        "platform,account,country,target,state_affiliated\n"
        "x,1570000000000001001,MX,US,yes\n"
        "x,@voz_paisana_mx,MX,,\n"
        "meta,104857600123,RU,MX,\n",
        "fuzz");
    Check(t.ok());
    return new vigia::EnrichmentTable(*std::move(t));
  }();
  return *table;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  vigia::Decoder decoder(vigia::DecoderOptions{});
  for (vigia::ExportFormat format :
       {vigia::ExportFormat::kXV2, vigia::ExportFormat::kMetaAdLibrary}) {
    for (bool keep : {false, true}) {
      vigia::ImportOptions options;
      options.format = format;
      options.keep_unmapped = keep;
      options.default_target = vigia::CountryCode::FromString("US");
      const vigia::ImportResult r =
          vigia::ImportExport(input, "fuzz", Table(), options);
      const vigia::ImportStats& s = r.stats;
      Check(s.items == s.imported + s.rejected_total());
      Check(static_cast<int64_t>(r.records.size()) == s.imported);
      Check(static_cast<int64_t>(r.rejects.size()) == s.rejected_total());
      for (const vigia::ImportReject& j : r.rejects) {
        Check(j.bytes.data() >= input.data() &&
              j.bytes.data() + j.bytes.size() <= input.data() + input.size());
        Check(j.line >= 1);
      }
      for (size_t i = 0; i < r.records.size(); ++i) {
        Check(decoder.DecodeUnpadded(r.records[i].json,
                                     vigia::SourceRef{"fuzz", -1, 1}) ==
              vigia::RejectReason::kNone);
        if (i > 0)
          Check(r.records[i - 1].created_at <= r.records[i].created_at);
      }
    }
  }
  return 0;
}
