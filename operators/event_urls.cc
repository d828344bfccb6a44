#include "operators/event_urls.h"

#include "operators/url_normalize.h"

namespace vigia {

void EventUrls::Reset(std::span<const std::string_view> urls) {
  urls_ = urls;
  // A new generation invalidates every entry at once, instead of clearing
  // strings that most events never read.
  ++generation_;
  if (parsed_.size() < urls.size()) parsed_.resize(urls.size());
}

std::string_view EventUrls::Normalized(size_t i) {
  Parsed& p = parsed_[i];
  if (p.normalized_generation != generation_) {
    NormalizeUrlTo(urls_[i], p.normalized, &p.host_size);
    p.normalized_generation = generation_;
    ++parses_;
  }
  return p.normalized;
}

std::string_view EventUrls::Host(size_t i) {
  Parsed& p = parsed_[i];
  if (p.normalized_generation == generation_) {
    return std::string_view(p.normalized).substr(0, p.host_size);
  }
  if (p.host_generation != generation_) {
    UrlHostTo(urls_[i], p.host);
    p.host_generation = generation_;
    ++parses_;
  }
  return p.host;
}

}  // namespace vigia
