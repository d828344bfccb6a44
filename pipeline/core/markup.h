// Escaping text for XML and HTML documents vigia writes (the GEXF/GraphML
// account networks of `vigia campaigns`, the HTML of `vigia report`).
//
// Stateless; safe from any thread.
#ifndef VIGIA_PIPELINE_CORE_MARKUP_H_
#define VIGIA_PIPELINE_CORE_MARKUP_H_

#include <string>
#include <string_view>

namespace vigia {

// `s` made safe as element text or a double-quoted attribute value in XML
// 1.0 and HTML: & < > " become references. XML 1.0 cannot write most
// control characters at all, not even as references, so each C0 control
// other than tab, LF and CR becomes U+FFFD: an account id decoded from a
// JSON \u0001 must not make the whole file unreadable.
std::string EscapeMarkup(std::string_view s);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CORE_MARKUP_H_
