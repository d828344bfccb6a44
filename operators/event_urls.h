// The URLs of one event, parsed once for every detector that reads them.
//
// coordinated_sharing matches shares by a URL's normal form and
// state_media_amplification by its host; both come from one parse
// (NormalizeUrlTo), which each detector used to repeat for every URL of
// every post. It is one of the facts the pipeline derives once per event
// for every detector (EventFacts::urls(), operators/event_facts.h). Each
// URL is parsed on first use only, so a post no detector asks about costs
// nothing.
//
// Not thread-safe; used on the pipeline thread. Views returned stay valid
// until the next Reset() (or the object's destruction). In steady state
// nothing is allocated: the per-URL strings keep their capacity.
//
// Example:
//   EventUrls urls;
//   urls.Reset(event.urls);
//   for (size_t i = 0; i < urls.size(); ++i) Use(urls.Host(i));
#ifndef VIGIA_OPERATORS_EVENT_URLS_H_
#define VIGIA_OPERATORS_EVENT_URLS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/event.h"

namespace vigia {

class EventUrls {
 public:
  EventUrls() = default;
  EventUrls(const EventUrls&) = delete;
  EventUrls& operator=(const EventUrls&) = delete;

  // Starts a new event: forgets every result of the previous one. `urls`
  // (and the strings it views) must stay valid until the next Reset().
  void Reset(std::span<const std::string_view> urls);

  // The URLs given to Reset(), as posted.
  size_t size() const { return urls_.size(); }
  std::string_view raw(size_t i) const { return urls_[i]; }
  std::span<const std::string_view> urls() const { return urls_; }

  // NormalizeUrl(raw(i)), computed on first use. REQUIRES: i < size().
  std::string_view Normalized(size_t i);
  // UrlHost(raw(i)): the leading host of Normalized(i) when that has been
  // computed, else parsed on its own (cheaper than the whole normal form)
  // on first use. REQUIRES: i < size().
  std::string_view Host(size_t i);

  // How many times a URL was parsed since construction, for tests: at most
  // twice per URL of an event (host, then the normal form) however many
  // detectors ask, and once when the normal form is asked for first.
  int64_t parses() const { return parses_; }

 private:
  struct Parsed {
    // Each field is valid when its generation equals generation_.
    std::string normalized;
    size_t host_size = 0;  // the host's length at the start of `normalized`
    uint64_t normalized_generation = 0;
    std::string host;  // UrlHost(), when only the host was asked for
    uint64_t host_generation = 0;
  };

  std::span<const std::string_view> urls_;
  // Grown only in Reset(), so that views into a Parsed's string are not
  // moved while an event is being observed.
  std::vector<Parsed> parsed_;
  uint64_t generation_ = 0;
  int64_t parses_ = 0;
};

}  // namespace vigia

#endif  // VIGIA_OPERATORS_EVENT_URLS_H_
