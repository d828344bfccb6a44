// URL normalisation for matching shares of the same page: posts link to one
// article through many spellings (http or https, "www." or not, tracking
// parameters, a trailing slash, an upper-case host), and detectors that
// count or cluster shares must see them as one.
//
// The normal form is host[:port]path[?query] with
//   - the scheme ("https://", or any "scheme://", or a leading "//") dropped,
//   - user info dropped, the host lower-cased, a leading "www." and a
//     trailing dot dropped, default ports (80, 443) dropped,
//   - the path kept as written (paths are case-sensitive) except that
//     trailing slashes are dropped and percent escapes are upper-cased,
//   - tracking parameters (IsTrackingParameter) and empty parameters
//     dropped, the others sorted (byte order) and kept as written,
//   - the fragment ("#...") dropped.
// e.g. "HTTPS://WWW.Example.com/News/A1/?utm_source=x&b=2&a=1#top" becomes
// "example.com/News/A1?a=1&b=2".
//
// Pure functions of their input; thread-safe.
#ifndef VIGIA_OPERATORS_URL_NORMALIZE_H_
#define VIGIA_OPERATORS_URL_NORMALIZE_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace vigia {

// Returns the normal form above; empty when `url` has no host (blank,
// "https://", "/relative/path").
std::string NormalizeUrl(std::string_view url);
// The same into `out` (replacing its contents), reusing its capacity: for
// hot paths.
void NormalizeUrlTo(std::string_view url, std::string& out);
// The same, and sets `*host_size` (when not null) to the length of the
// normal form's leading host, which is UrlHost(url): the normal form starts
// with exactly that host. For callers that need both from one parse.
void NormalizeUrlTo(std::string_view url, std::string& out, size_t* host_size);

// Returns the host of `url` as in the normal form: lower-case, without
// "www.", port, user info or trailing dot; empty when there is none.
// "https://de.RT.com:443/x" gives "de.rt.com".
std::string UrlHost(std::string_view url);
// The same into `out` (replacing its contents), reusing its capacity: for
// hot paths.
void UrlHostTo(std::string_view url, std::string& out);

// Whether a query parameter (by name, case-insensitive) only tracks the
// click and never selects content: utm_* and the click ids of the big ad
// platforms and mailers (fbclid, gclid, dclid, gbraid, wbraid, msclkid,
// yclid, ysclid, twclid, ttclid, igshid, igsh, mc_cid, mc_eid, li_fat_id,
// mkt_tok, _ga, _gl, _hsenc, _hsmi, ref_src, s_cid, oly_anon_id,
// oly_enc_id, vero_id, wickedid, rb_clickid).
bool IsTrackingParameter(std::string_view name);

}  // namespace vigia

#endif  // VIGIA_OPERATORS_URL_NORMALIZE_H_
