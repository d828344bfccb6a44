#include "operators/event_facts.h"

namespace vigia {

const char* RefusalText(EventFacts::Refusal why) {
  switch (why) {
    case EventFacts::Refusal::kNone:
      return "not refused";
    case EventFacts::Refusal::kAhead:
      return "further ahead of its last evaluation than its windows hold (a "
             "partition or source far ahead of the others)";
    case EventFacts::Refusal::kBehindNewKey:
      return "older than its key, first seen ahead of it, can reach back to";
    case EventFacts::Refusal::kKeyCap:
      return "at its state cap (max_keys, or the most one key holds) with "
             "nothing it may forget to make room";
  }
  return "refused";
}

}  // namespace vigia
