#include "pipeline/core/country.h"

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace vigia {
namespace {

// The 249 officially assigned codes, plus XK.
constexpr std::string_view kAssigned =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI "
    "BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN "
    "CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK "
    "FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM "
    "HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK "
    "ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP "
    "NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW "
    "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF "
    "TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW XK";

// Bit (a - 'A') * 26 + (b - 'A') is set for each assigned code "ab". Built
// at compile time: a function-local static cost a guard check on every
// call, two per post in the decoder.
constexpr size_t kCodes = 26 * 26;
constexpr std::array<uint64_t, (kCodes + 63) / 64> kAssignedBits = [] {
  std::array<uint64_t, (kCodes + 63) / 64> bits = {};
  for (size_t i = 0; i + 1 < kAssigned.size(); i += 3) {
    const size_t index = static_cast<size_t>(kAssigned[i] - 'A') * 26 +
                         static_cast<size_t>(kAssigned[i + 1] - 'A');
    bits[index / 64] |= uint64_t{1} << (index % 64);
  }
  return bits;
}();
static_assert(
    [] {
      int n = 0;
      for (const uint64_t word : kAssignedBits) n += std::popcount(word);
      return n;
    }() == 250,
    "249 assigned codes and XK, none twice");

}  // namespace

CountryCode ParseCountry(std::string_view code) {
  const CountryCode c = CountryCode::FromString(code);
  if (!c.known()) return c;
  const size_t index = static_cast<size_t>(code[0] - 'A') * 26 +
                       static_cast<size_t>(code[1] - 'A');
  return (kAssignedBits[index / 64] >> (index % 64)) & 1 ? c : CountryCode();
}

}  // namespace vigia
