// `vigia report` end to end, read by a real browser: the real binary
// generates the diaspora scenario with its truth, replays it, and writes the
// after-action report; Debian's headless chromium then loads the file:
//  - with its console logged, no script error and no refused load (the page
//    forbids everything but inline style: a load it tried would show);
//  - its parsed DOM holds one plot per target, with series and alert bands;
//  - a screenshot shows the plots: it has thousands of pixels in the plots'
//    first series colour more than a screenshot of the same page with its
//    plots removed (PNG decoded here with zlib).
// And the report says what the truth says: the MD<-RU campaign found, with
// its delay, and no organic false alarm.
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "tests/e2e_util.h"

namespace vigia {
namespace {

using e2e::ReadFile;
using e2e::RunCommand;

constexpr char kChromium[] = "/usr/bin/chromium";

uint32_t BigEndian(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 3]));
}

// Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what chromium writes)
// to RGB triples. Returns false on anything else.
bool DecodePng(const std::string& png, int* width, int* height,
               std::vector<uint8_t>* rgb) {
  if (png.size() < 33 || png.compare(1, 3, "PNG") != 0) return false;
  std::string idat;
  int channels = 0;
  for (size_t at = 8; at + 8 <= png.size();) {
    const uint32_t length = BigEndian(png, at);
    const std::string type = png.substr(at + 4, 4);
    if (at + 12 + length > png.size()) return false;
    if (type == "IHDR") {
      *width = static_cast<int>(BigEndian(png, at + 8));
      *height = static_cast<int>(BigEndian(png, at + 12));
      const int depth = static_cast<uint8_t>(png[at + 16]);
      const int colour = static_cast<uint8_t>(png[at + 17]);
      const int interlace = static_cast<uint8_t>(png[at + 20]);
      if (depth != 8 || interlace != 0 || (colour != 2 && colour != 6)) {
        return false;
      }
      channels = colour == 2 ? 3 : 4;
    } else if (type == "IDAT") {
      idat.append(png, at + 8, length);
    }
    at += 12 + length;
  }
  if (channels == 0) return false;
  const size_t stride = static_cast<size_t>(*width) * channels;
  std::vector<uint8_t> raw((stride + 1) * *height);
  uLongf raw_size = raw.size();
  if (uncompress(raw.data(), &raw_size,
                 reinterpret_cast<const Bytef*>(idat.data()),
                 idat.size()) != Z_OK ||
      raw_size != raw.size()) {
    return false;
  }
  std::vector<uint8_t> prev(stride, 0), cur(stride);
  rgb->clear();
  for (int y = 0; y < *height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* line = &raw[y * (stride + 1) + 1];
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= static_cast<size_t>(channels) ? cur[i - channels] : 0;
      const int b = prev[i];
      const int c = i >= static_cast<size_t>(channels) ? prev[i - channels] : 0;
      int p = line[i];
      switch (filter) {
        case 1:
          p += a;
          break;
        case 2:
          p += b;
          break;
        case 3:
          p += (a + b) / 2;
          break;
        case 4: {
          const int e = a + b - c;
          const int pa = std::abs(e - a), pb = std::abs(e - b),
                    pc = std::abs(e - c);
          p += (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default:
          break;
      }
      cur[i] = static_cast<uint8_t>(p);
    }
    for (int x = 0; x < *width; ++x) {
      for (int k = 0; k < 3; ++k) rgb->push_back(cur[x * channels + k]);
    }
    prev.swap(cur);
  }
  return true;
}

// Pixels within `tolerance` of #1f77b4, the plots' first series colour.
int64_t SeriesPixels(const std::string& png_path) {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
  if (!DecodePng(ReadFile(png_path), &width, &height, &rgb)) {
    ADD_FAILURE() << png_path << " is not a PNG this test decodes";
    return -1;
  }
  int64_t n = 0;
  for (size_t i = 0; i + 2 < rgb.size(); i += 3) {
    if (std::abs(rgb[i] - 0x1f) <= 24 && std::abs(rgb[i + 1] - 0x77) <= 24 &&
        std::abs(rgb[i + 2] - 0xb4) <= 24) {
      ++n;
    }
  }
  return n;
}

std::string Chromium(const std::string& flags, const std::string& html) {
  return absl::StrCat(kChromium,
                      " --headless=new --no-sandbox --disable-gpu "
                      "--no-first-run --disable-extensions "
                      "--hide-scrollbars --enable-logging=stderr --v=0 ",
                      flags, " file://", html);
}

int CountOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

TEST(ReportEndToEnd, ChromiumRendersTheReportAndItsPlots) {
  ASSERT_EQ(access(kChromium, X_OK), 0)
      << kChromium << " is missing (deploy/install-deps.sh installs chromium)";
  const std::string dir = e2e::MakeTempDir("report_e2e");
  const std::string vigia = VIGIA_BINARY;
  ASSERT_EQ(
      RunCommand(absl::StrCat(vigia, " gen --scenario diaspora --out ", dir,
                              "/d.ndjson --truth ", dir, "/d.truth.json")),
      0);
  ASSERT_EQ(RunCommand(absl::StrCat(vigia, " replay --input ", dir,
                                    "/d.ndjson --alerts ", dir,
                                    "/d.alerts.ndjson > /dev/null")),
            0);
  const std::string html = dir + "/report.html";
  ASSERT_EQ(
      RunCommand(absl::StrCat(
          vigia, " report --input ", dir, "/d.ndjson --alerts ", dir,
          "/d.alerts.ndjson --truth ", dir, "/d.truth.json --out ", html)),
      0);
  const std::string page = ReadFile(html);
  ASSERT_FALSE(page.empty());

  // What the truth says, in the report: the campaign found, with a delay.
  EXPECT_TRUE(absl::StrContains(
      page, "<td>md-ru-neutrality-push</td><td>foreign_origin_surge</td>"))
      << "no row for the campaign";
  EXPECT_TRUE(absl::StrContains(page, "<td class=\"found\">found</td>"));
  EXPECT_TRUE(absl::StrContains(page,
                                "Interference found: <b>1</b>, missed: "
                                "<b>0</b>; organic activity alerted on "
                                "(false alarms): <b>0</b>"));
  EXPECT_FALSE(absl::StrContains(page, "<script"));
  // Nothing to load: no src, href or url() (URLs of the evidence are text,
  // and the SVG namespace is a name, not a load).
  for (const char* load : {"src=", "href=", "url("}) {
    EXPECT_FALSE(absl::StrContains(page, load))
        << "the report loads something: " << load;
  }

  // The DOM as chromium parsed it, with its console on stderr.
  const std::string dom = dir + "/dom.html";
  const std::string log = dir + "/chromium.log";
  ASSERT_EQ(RunCommand(absl::StrCat(Chromium("--dump-dom", html), " > ", dom,
                                    " 2> ", log)),
            0)
      << ReadFile(log);
  const std::string parsed = ReadFile(dom);
  const std::string console = ReadFile(log);
  const int plots = CountOf(parsed, "<svg class=\"plot\"");
  std::cout << "chromium parsed " << parsed.size() << " bytes: " << plots
            << " plots, " << CountOf(parsed, "<polyline") << " series, "
            << CountOf(parsed, "class=\"episode\"") << " alert bands\n";
  EXPECT_GE(plots, 2);
  EXPECT_GE(CountOf(parsed, "<polyline"), plots * 3);
  EXPECT_GE(CountOf(parsed, "class=\"episode\""), 1);
  EXPECT_GE(CountOf(parsed, "class=\"campaign\""), 1);
  for (const char* bad :
       {"Uncaught", "Refused to", "CONSOLE", ":ERROR:CONSOLE", "SyntaxError"}) {
    EXPECT_FALSE(absl::StrContains(console, bad))
        << "chromium's log has \"" << bad << "\":\n"
        << console;
  }

  // Screenshots: the page, and the same page with its plots cut out.
  std::string no_plots = page;
  for (size_t at = no_plots.find("<svg"); at != std::string::npos;
       at = no_plots.find("<svg", at)) {
    const size_t end = no_plots.find("</svg>", at);
    ASSERT_NE(end, std::string::npos);
    no_plots.erase(at, end + 6 - at);
  }
  const std::string control = dir + "/no-plots.html";
  {
    std::ofstream out(control);
    out << no_plots;
  }
  const std::string shot = dir + "/report.png";
  const std::string control_shot = dir + "/no-plots.png";
  const std::string size = "--window-size=1150,2400 ";
  ASSERT_EQ(RunCommand(absl::StrCat(
                Chromium(size + "--screenshot=" + shot, html), " 2>> ", log)),
            0);
  ASSERT_EQ(RunCommand(absl::StrCat(
                Chromium(size + "--screenshot=" + control_shot, control),
                " 2>> ", log)),
            0);
  const int64_t with_plots = SeriesPixels(shot);
  const int64_t without = SeriesPixels(control_shot);
  std::cout << "pixels in the series colour: " << with_plots << " with plots, "
            << without << " without\n";
  EXPECT_GT(with_plots, without + 2000) << "the plots did not render";
}

}  // namespace
}  // namespace vigia
