// What foreign_origin_surge and new_account_burst share: a network's
// near-duplicate content (the campaign's messages, URLs and hashtags), set
// up and rendered the same way; only the accounts differ. Internal to
// vigia::gen, see kind.h.
#ifndef VIGIA_PIPELINE_GEN_KINDS_SURGE_H_
#define VIGIA_PIPELINE_GEN_KINDS_SURGE_H_

#include <cstdint>
#include <string>

#include "pipeline/gen/model.h"
#include "pipeline/gen/render.h"

namespace vigia::gen::internal {

// What a surge's rendering keeps for the truth (new_account_burst's).
struct SurgeState : KindState {
  int64_t max_account_age_ms = 0;  // the oldest account when it posted
};

// KindSpec::prepare: the content with defaults filled in, and SurgeState.
void PrepareSurge(Model* m, Stream& st);
// KindSpec::render.
void RenderSurgePost(Renderer& r, Stream& st, const Record& rec,
                     const std::string& id, int64_t unix_ms, std::string* line);

}  // namespace vigia::gen::internal

#endif  // VIGIA_PIPELINE_GEN_KINDS_SURGE_H_
