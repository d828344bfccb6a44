// `vigia evidence` and `vigia verify`: evidence packages a reviewing
// authority can keep (docs/evidence.md).
//
// `vigia evidence` replays an archive up to one alert and writes a
// directory holding the alert as emitted, the original bytes of every
// record it cites, the baseline it was compared with, the effective
// configuration (canonical text, whose SHA-256 is the alert's
// config_hash, and the config file given), optionally the archive itself,
// and a manifest with vigia's version and commit, the SHA-256 of the
// input archive and of every file, signed with an Ed25519 key.
//
// `vigia verify` checks every hash and the signature, re-derives the alert
// by replaying the archive the manifest names (its SHA-256 checked first)
// with the packaged configuration, compares it byte for byte, and says in
// plain words what holds and what does not, naming the file at fault.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "pipeline/campaigns.h"
#include "pipeline/cli/alert_finder.h"
#include "pipeline/cli/commands.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/files.h"
#include "pipeline/core/hash.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/signing.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "pipeline/reader.h"
#include "simdjson.h"

namespace vigia::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kFormat[] = "vigia-evidence/1";
constexpr char kManifest[] = "manifest.json";
constexpr char kSignature[] = "manifest.sig";
constexpr char kAlertFile[] = "alert.json";
constexpr char kBaselineFile[] = "baseline.json";
constexpr char kCampaignFile[] = "campaign.json";
constexpr char kCanonicalConfig[] = "config.canonical.txt";
constexpr char kConfigFile[] = "config.yaml";
constexpr char kReadme[] = "README.txt";
// Keys are small; anything larger is not a PEM key.
constexpr size_t kMaxKeyBytes = 64 * 1024;
// Package files other than the archive copy are read whole; an alert and
// its records are kilobytes.
constexpr size_t kMaxPackageFileBytes = 64 * 1024 * 1024;
// The given lines of an archive, by number.
absl::StatusOr<std::map<int64_t, std::string>> ReadLines(
    const std::string& path, const std::set<int64_t>& wanted) {
  std::map<int64_t, std::string> out;
  if (wanted.empty()) return out;
  absl::StatusOr<std::unique_ptr<LineReader>> reader = OpenLineReader(path);
  if (!reader.ok()) return reader.status();
  const int64_t last = *wanted.rbegin();
  while (true) {
    absl::StatusOr<Line> line = (*reader)->Next();
    if (!line.ok()) {
      if (absl::IsOutOfRange(line.status())) break;
      return line.status();
    }
    if (line->number > last) break;
    if (wanted.contains(line->number)) {
      out[line->number] = std::string(line->bytes);
    }
  }
  return out;
}

// What the alert's expectation was: its window, the comparison and the
// baseline's named numbers.
std::string BaselineJson(const Alert& a) {
  JsonWriter w;
  w.BeginObject();
  w.Field("alert", a.id);
  w.Field("window_start", FormatRfc3339(a.window_start));
  w.Field("window_end", FormatRfc3339(a.window_end));
  w.Field("observed", a.observed);
  w.Field("expected", a.expected);
  w.Field("ratio", a.ratio);
  w.Field("score", a.score);
  w.Field("threshold", a.threshold);
  w.Key("baseline");
  w.BeginObject();
  for (const auto& [name, value] : a.evidence.baseline) w.Field(name, value);
  w.EndObject();
  w.EndObject();
  return std::string(w.view()) + "\n";
}

// The archive lines an alert cites: its samples read from `source`.
std::vector<const SampleEvent*> CitedSamples(const Alert& a,
                                             const std::string& source) {
  std::vector<const SampleEvent*> out;
  for (const SampleEvent& s : a.evidence.samples) {
    if (s.partition < 0 && s.source == source) out.push_back(&s);
  }
  return out;
}

std::string RecordFile(int64_t line) {
  return absl::StrCat("records/line-", line, ".json");
}

absl::Status WriteBytes(const fs::path& path, std::string_view bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  }
  return absl::OkStatus();
}

std::string KeyFingerprint(std::string_view raw_public_key) {
  return Sha256Hex(raw_public_key).substr(0, 16);
}

const char* CommitOrUnknown() { return CommitString(); }

std::string ReadmeText(const Alert& a) {
  return absl::StrCat(
      "vigia evidence package for alert ", a.id, " (", a.detector, ", ",
      std::string(SeverityName(a.severity)), ", target ", a.target.str(),
      ").\n\n",
      "  alert.json            the alert record as vigia emitted it\n"
      "  baseline.json         the window, observed and expected counts, "
      "and the baseline\n"
      "  campaign.json         the campaign the alert belonged to when it "
      "fired: the alerts\n"
      "                        linked to it by shared accounts, links, "
      "payers or texts\n"
      "  records/line-N.json   the original bytes of each archive line the "
      "alert cites\n"
      "  config.canonical.txt  the effective configuration; its SHA-256 is "
      "the alert's config_hash\n"
      "  config.yaml           the configuration file given (absent: the "
      "built-in defaults)\n"
      "  archive/              a copy of the input archive, when packaged "
      "with --include-archive\n"
      "  manifest.json         vigia's version and commit, the SHA-256 of "
      "the input archive and of\n"
      "                        every file above, signed with Ed25519 in "
      "manifest.sig\n\n"
      "Check it with: vigia verify DIR [--public-key SIGNER.pub.pem] "
      "[--input ARCHIVE]\n"
      "(docs/evidence.md).\n");
}

// ---------------------------------------------------------------------------
// vigia evidence keygen

absl::Status RunKeygen(const ParsedFlags& flags) {
  if (!flags.has("key")) {
    return absl::InvalidArgumentError(
        "vigia evidence keygen: --key FILE (the private key to write) is "
        "required");
  }
  const std::string path = flags.get("key");
  const std::string pub_path = path + ".pub";
  for (const std::string& p : {path, pub_path}) {
    std::error_code ec;
    if (fs::exists(p, ec)) {
      return absl::AlreadyExistsError(
          absl::StrCat(p, " exists; refusing to overwrite a key"));
    }
  }
  absl::StatusOr<std::string> pem = Ed25519GenerateKeyPem();
  if (!pem.ok()) return pem.status();
  absl::StatusOr<std::string> pub = Ed25519PublicKeyPem(*pem);
  if (!pub.ok()) return pub.status();
  // Created private (0600) and never over an existing file.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  const ssize_t written = ::write(fd, pem->data(), pem->size());
  if (::close(fd) != 0 || written != static_cast<ssize_t>(pem->size())) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  VIGIA_RETURN_IF_ERROR(WriteBytes(pub_path, *pub));
  absl::StatusOr<std::string> raw = Ed25519RawPublicKey(*pem);
  if (!raw.ok()) return raw.status();
  std::printf(
      "wrote %s (Ed25519 private key, mode 0600) and %s (public key, to give "
      "to reviewers)\nkey fingerprint %s\n",
      path.c_str(), pub_path.c_str(), KeyFingerprint(*raw).c_str());
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// vigia evidence

// What a package is made from, besides the alert its replay raises.
struct PackageInputs {
  std::string input;  // the archive's path as given
  int64_t input_bytes = 0;
  std::string input_sha;     // hex SHA-256 of the archive
  std::string archive_copy;  // the archive's copy in the package, or ""
  std::string key;           // the signing key (PEM)
  std::string public_key;    // its raw Ed25519 public key
  Config config;             // --config's, or the defaults
  std::optional<std::string> config_bytes;  // --config's bytes, as given
};

// Checks `vigia evidence`'s flags and reads the key, the config and the
// archive's digest: all that can fail before the replay runs.
absl::StatusOr<PackageInputs> ReadPackageInputs(const ParsedFlags& flags,
                                                const fs::path& out) {
  for (const char* required : {"input", "alert", "out", "key"}) {
    if (!flags.has(required)) {
      return absl::InvalidArgumentError(
          absl::StrCat("vigia evidence: --", required,
                       " is required (see vigia evidence --help)"));
    }
  }
  std::error_code ec;
  if (fs::exists(out, ec) &&
      !(fs::is_directory(out, ec) && fs::is_empty(out, ec))) {
    return absl::AlreadyExistsError(
        absl::StrCat(out.string(), " exists and is not an empty directory"));
  }
  PackageInputs in;
  in.input = flags.get("input");
  absl::StatusOr<std::string> key =
      ReadFileToString(flags.get("key"), kMaxKeyBytes, "signing key");
  if (!key.ok()) return key.status();
  in.key = *std::move(key);
  absl::StatusOr<std::string> public_key = Ed25519RawPublicKey(in.key);
  if (!public_key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flags.get("key"), ": ", public_key.status().message()));
  }
  in.public_key = *std::move(public_key);
  absl::StatusOr<Config> config = LoadConfigFlag(flags);
  if (!config.ok()) return config.status();
  in.config = *std::move(config);
  if (flags.has("config")) {
    absl::StatusOr<std::string> bytes =
        ReadFileToString(flags.get("config"), kMaxPackageFileBytes, "config");
    if (!bytes.ok()) return bytes.status();
    in.config_bytes = *std::move(bytes);
  }
  absl::StatusOr<std::string> input_sha = Sha256FileHex(in.input);
  if (!input_sha.ok()) return input_sha.status();
  in.input_sha = *std::move(input_sha);
  in.input_bytes = static_cast<int64_t>(fs::file_size(in.input, ec));
  return in;
}

// Every file of the package but the manifest and its signature, with its
// bytes, in the order the manifest lists them.
std::vector<std::pair<std::string, std::string>> PackageFiles(
    const Alert& alert, const std::optional<Campaign>& campaign,
    const Config& config, const PackageInputs& in,
    const std::map<int64_t, std::string>& lines) {
  std::vector<std::pair<std::string, std::string>> files;
  files.emplace_back(kAlertFile, AlertToJson(alert) + "\n");
  files.emplace_back(kBaselineFile, BaselineJson(alert));
  if (campaign.has_value()) {
    files.emplace_back(kCampaignFile, CampaignToJson(*campaign) + "\n");
  }
  files.emplace_back(kCanonicalConfig, CanonicalConfig(config));
  if (in.config_bytes.has_value()) {
    files.emplace_back(kConfigFile, *in.config_bytes);
  }
  files.emplace_back(kReadme, ReadmeText(alert));
  for (const auto& [number, bytes] : lines) {
    files.emplace_back(RecordFile(number), bytes);
  }
  return files;
}

void StringOrNull(JsonWriter& w, const std::string& s) {
  if (s.empty()) {
    w.Null();
  } else {
    w.String(s);
  }
}

// The manifest's "alert", "input" and "config" objects: what was packaged
// and from what.
void WriteManifestSources(JsonWriter& w, const Alert& alert,
                          const Config& config, const PackageInputs& in) {
  w.Key("alert");
  w.BeginObject();
  w.Field("id", alert.id);
  w.Field("detector", alert.detector);
  w.Field("state", AlertStateName(alert.state));
  w.Field("severity", SeverityName(alert.severity));
  w.Field("target", alert.target.str());
  w.Key("origin");
  StringOrNull(w, alert.origin.known() ? alert.origin.str() : "");
  w.Field("window_start", FormatRfc3339(alert.window_start));
  w.Field("window_end", FormatRfc3339(alert.window_end));
  w.Field("file", kAlertFile);
  w.EndObject();
  std::error_code ec;
  w.Key("input");
  w.BeginObject();
  w.Field("path", in.input);
  w.Field("absolute_path",
          fs::absolute(in.input, ec).lexically_normal().string());
  w.Field("bytes", in.input_bytes);
  w.Field("sha256", in.input_sha);
  w.Key("copy");
  StringOrNull(w, in.archive_copy);
  w.EndObject();
  w.Key("config");
  w.BeginObject();
  w.Field("hash", config.hash());
  w.Field("canonical", kCanonicalConfig);
  w.Key("file");
  StringOrNull(w, in.config_bytes.has_value() ? kConfigFile : "");
  w.EndObject();
}

// The manifest the signature covers: the sources, the cited records and
// the SHA-256 of every file in the package.
std::string ManifestJson(
    const Alert& alert, bool has_campaign, const Config& config,
    const PackageInputs& in, const std::vector<const SampleEvent*>& cited,
    const std::map<int64_t, std::string>& lines,
    const std::vector<std::pair<std::string, std::string>>& files) {
  JsonWriter w;
  w.BeginObject();
  w.Field("format", kFormat);
  w.Key("vigia");
  w.BeginObject();
  w.Field("version", VersionString());
  w.Field("commit", CommitOrUnknown());
  w.EndObject();
  WriteManifestSources(w, alert, config, in);
  w.Field("baseline", kBaselineFile);
  w.Key("campaign");
  StringOrNull(w, has_campaign ? kCampaignFile : "");
  w.Key("records");
  w.BeginArray();
  for (const SampleEvent* s : cited) {
    auto it = lines.find(s->position);
    if (it == lines.end()) continue;
    w.BeginObject();
    w.Field("id", s->id);
    w.Field("source", s->source);
    w.Field("line", s->position);
    w.Field("sha256", Sha256Hex(it->second));
    w.Field("file", RecordFile(s->position));
    w.EndObject();
  }
  w.EndArray();
  w.Key("files");
  w.BeginArray();
  auto file = [&w](const std::string& path, int64_t bytes,
                   const std::string& sha256) {
    w.BeginObject();
    w.Field("path", path);
    w.Field("bytes", bytes);
    w.Field("sha256", sha256);
    w.EndObject();
  };
  for (const auto& [path, bytes] : files) {
    file(path, static_cast<int64_t>(bytes.size()), Sha256Hex(bytes));
  }
  if (!in.archive_copy.empty()) {
    file(in.archive_copy, in.input_bytes, in.input_sha);
  }
  w.EndArray();
  w.Key("signature");
  w.BeginObject();
  w.Field("algorithm", "Ed25519");
  w.Field("public_key", absl::BytesToHexString(in.public_key));
  w.Field("key_fingerprint", KeyFingerprint(in.public_key));
  w.Field("file", kSignature);
  w.EndObject();
  w.EndObject();
  return std::string(w.view()) + "\n";
}

absl::Status RunEvidence(const ParsedFlags& flags) {
  if (flags.has("mode")) {
    if (flags.get("mode") != "keygen") {
      return absl::InvalidArgumentError(absl::StrCat(
          "vigia evidence: unexpected argument \"", flags.get("mode"),
          "\" (the only one is keygen; see vigia evidence --help)"));
    }
    return RunKeygen(flags);
  }
  const fs::path out = flags.get("out");
  absl::StatusOr<PackageInputs> in = ReadPackageInputs(flags, out);
  if (!in.ok()) return in.status();
  const Config& config = in->config;
  absl::StatusOr<FoundAlert> found = ReplayToAlert(
      config, in->input, in->input, flags.get("alert"), /*lifecycle=*/false);
  if (!found.ok()) return found.status();
  const Alert& alert = found->records.front();
  const std::vector<const SampleEvent*> cited = CitedSamples(alert, in->input);
  std::set<int64_t> wanted;
  for (const SampleEvent* s : cited) wanted.insert(s->position);
  absl::StatusOr<std::map<int64_t, std::string>> lines =
      ReadLines(in->input, wanted);
  if (!lines.ok()) return lines.status();

  const std::vector<std::pair<std::string, std::string>> files =
      PackageFiles(alert, found->campaign, config, *in, *lines);
  for (const auto& [path, bytes] : files) {
    VIGIA_RETURN_IF_ERROR(WriteBytes(out / path, bytes));
  }
  if (flags.has("include-archive")) {
    in->archive_copy =
        absl::StrCat("archive/", fs::path(in->input).filename().string());
    std::error_code ec;
    fs::create_directories(out / "archive", ec);
    fs::copy_file(in->input, out / in->archive_copy, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("copying ", in->input, ": ", ec.message()));
    }
  }
  const std::string manifest = ManifestJson(alert, found->campaign.has_value(),
                                            config, *in, cited, *lines, files);
  absl::StatusOr<std::string> signature = Ed25519Sign(in->key, manifest);
  if (!signature.ok()) return signature.status();
  VIGIA_RETURN_IF_ERROR(WriteBytes(out / kManifest, manifest));
  VIGIA_RETURN_IF_ERROR(
      WriteBytes(out / kSignature, absl::BytesToHexString(*signature) + "\n"));
  std::printf(
      "wrote %s: alert %s (%s, %s), %zu cited records, config_hash %s, "
      "input sha256 %s%s\nsigned by Ed25519 key %s\n",
      out.string().c_str(), alert.id.c_str(), alert.detector.c_str(),
      std::string(SeverityName(alert.severity)).c_str(), lines->size(),
      config.hash().c_str(), in->input_sha.c_str(),
      in->archive_copy.empty() ? "" : " (archive copied)",
      KeyFingerprint(in->public_key).c_str());
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// vigia verify

// What holds and what does not, in order, with the places at fault.
class Report {
 public:
  void Holds(std::string what) { lines_.push_back({"ok", std::move(what)}); }
  // Says something the reader must weigh, neither a check held nor failed.
  void Notes(std::string what) { lines_.push_back({"note", std::move(what)}); }
  void Fails(const std::string& place, std::string what) {
    lines_.push_back({"FAILED", absl::StrCat(place, ": ", what)});
    if (std::find(places_.begin(), places_.end(), place) == places_.end()) {
      places_.push_back(place);
    }
  }
  bool ok() const { return places_.empty(); }
  void Print(const std::string& dir) const {
    std::printf("Evidence package %s\n", dir.c_str());
    for (const auto& [mark, text] : lines_) {
      std::printf("  %-6s %s\n", mark, text.c_str());
    }
    if (ok()) {
      std::printf(
          "Verdict: the package verifies. Every file is as signed, and the "
          "alert re-derives from the archive byte for byte.\n");
    } else {
      std::printf("Verdict: the package does NOT verify. At fault: %s\n",
                  absl::StrJoin(places_, ", ").c_str());
    }
  }
  const std::vector<std::string>& places() const { return places_; }

 private:
  std::vector<std::pair<const char*, std::string>> lines_;
  std::vector<std::string> places_;
};

std::string Str(simdjson::simdjson_result<simdjson::dom::element> e) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  return std::string();
}

// Decodes exactly `bytes` bytes of lower- or upper-case hex.
bool DecodeHex(std::string_view hex, size_t bytes, std::string* out) {
  if (hex.size() != 2 * bytes) return false;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  *out = absl::HexStringToBytes(ToAbsl(hex));
  return true;
}

// A package-relative path that stays inside the package.
bool SafeRelative(const std::string& p) {
  if (p.empty() || p.front() == '/') return false;
  for (const auto& part : fs::path(p)) {
    if (part == "..") return false;
  }
  return true;
}

std::optional<std::string> ReadPackageFile(const fs::path& dir,
                                           const std::string& rel) {
  absl::StatusOr<std::string> bytes = ReadFileToString(
      (dir / rel).string(), kMaxPackageFileBytes, "package file");
  if (!bytes.ok()) return std::nullopt;
  return *std::move(bytes);
}

// Checks the signature; returns the raw public key on success.
void CheckSignature(const fs::path& dir, const std::string& manifest,
                    simdjson::dom::element doc, const ParsedFlags& flags,
                    Report& r) {
  std::string public_hex = Str(doc["signature"]["public_key"]);
  std::string public_key;
  if (!DecodeHex(public_hex, 32, &public_key)) {
    r.Fails(kManifest, "names no valid Ed25519 public key");
    return;
  }
  const std::optional<std::string> sig_text = ReadPackageFile(dir, kSignature);
  std::string signature;
  if (!sig_text.has_value()) {
    r.Fails(kSignature, "missing: the manifest is not signed");
    return;
  }
  const std::string hex(absl::StripAsciiWhitespace(*sig_text));
  if (!DecodeHex(hex, 64, &signature)) {
    r.Fails(kSignature, "not an Ed25519 signature (128 hex digits)");
    return;
  }
  if (!Ed25519Verify(public_key, manifest, signature)) {
    r.Fails("manifest.json/manifest.sig",
            "the signature does not match the manifest: the manifest or its "
            "signature was changed after signing");
    return;
  }
  r.Holds(absl::StrCat("manifest.json is signed (Ed25519) by key ",
                       KeyFingerprint(public_key),
                       " and the signature in manifest.sig matches it"));
  if (flags.has("public-key")) {
    absl::StatusOr<std::string> expected =
        ReadFileToString(flags.get("public-key"), kMaxKeyBytes, "public key");
    absl::StatusOr<std::string> raw =
        expected.ok() ? Ed25519RawPublicKey(*expected) : expected.status();
    if (!raw.ok()) {
      r.Fails("--public-key", std::string(raw.status().message()));
    } else if (*raw != public_key) {
      r.Fails(kManifest,
              absl::StrCat("signed by key ", KeyFingerprint(public_key),
                           ", not by the expected key ", KeyFingerprint(*raw),
                           " (--public-key)"));
    } else {
      r.Holds(absl::StrCat("the signing key is the expected one (",
                           flags.get("public-key"), ")"));
    }
  } else {
    r.Holds(
        "(who holds that key is not checked: pass --public-key FILE with "
        "the signer's public key)");
  }
}

// Every listed file as signed; nothing unlisted. Returns the listed paths.
std::set<std::string> CheckFiles(const fs::path& dir,
                                 simdjson::dom::element doc, Report& r) {
  std::set<std::string> listed;
  simdjson::dom::array files;
  if (doc["files"].get_array().get(files) != simdjson::SUCCESS) {
    r.Fails(kManifest, "lists no files");
    return listed;
  }
  int ok = 0;
  for (simdjson::dom::element f : files) {
    const std::string path = Str(f["path"]);
    const std::string want = Str(f["sha256"]);
    if (!SafeRelative(path)) {
      r.Fails(kManifest,
              absl::StrCat("lists a path outside the package: ", path));
      continue;
    }
    listed.insert(path);
    absl::StatusOr<std::string> got = Sha256FileHex((dir / path).string());
    if (!got.ok()) {
      r.Fails(path, "missing from the package");
    } else if (*got != want) {
      r.Fails(path, absl::StrCat("changed after signing: its SHA-256 is ",
                                 got->substr(0, 16), "..., the manifest says ",
                                 want.substr(0, 16), "..."));
    } else {
      ++ok;
    }
  }
  if (ok == static_cast<int>(files.size())) {
    r.Holds(absl::StrCat("all ", ok,
                         " listed files have the SHA-256 the manifest gives"));
  }
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string rel = it->path().lexically_relative(dir).string();
    if (rel == kManifest || rel == kSignature || listed.contains(rel)) continue;
    r.Fails(rel, "is in the package but not in the manifest");
  }
  return listed;
}

// A package being verified: its directory, its parsed manifest, the files
// the manifest lists and the report of what holds.
struct Package {
  fs::path dir;
  simdjson::dom::element doc;  // the manifest
  std::set<std::string> listed;
  Report* r;
};

// Which vigia made the package, and a note when another one re-derives it.
void CheckProvenance(const Package& p) {
  p.r->Holds(absl::StrCat("made by vigia ", Str(p.doc["vigia"]["version"]),
                          " at commit ", Str(p.doc["vigia"]["commit"])));
  if (Str(p.doc["vigia"]["commit"]) != CommitOrUnknown()) {
    p.r->Notes(absl::StrCat(
        "re-deriving with vigia ", VersionString(), " at commit ",
        CommitOrUnknown(),
        ", not the build that made the package: if the alert does not "
        "re-derive, a change of detection between the two may be why (run "
        "verify with the package's commit to tell it from tampering)"));
  }
}

// alert.json is the alert the manifest names; returns its bytes.
std::optional<std::string> CheckAlertFile(const Package& p) {
  const std::optional<std::string> bytes = ReadPackageFile(p.dir, kAlertFile);
  simdjson::dom::parser parser;
  simdjson::padded_string padded(bytes.value_or(""));
  simdjson::dom::element alert;
  if (!bytes.has_value() ||
      parser.parse(padded).get(alert) != simdjson::SUCCESS) {
    p.r->Fails(kAlertFile, "missing or not valid JSON");
  } else if (Str(alert["id"]) != Str(p.doc["alert"]["id"]) ||
             Str(alert["config_hash"]) != Str(p.doc["config"]["hash"])) {
    p.r->Fails(kAlertFile,
               "its id or config_hash is not the one the manifest names");
  } else {
    p.r->Holds(absl::StrCat("alert.json is alert ", Str(p.doc["alert"]["id"]),
                            " (", Str(alert["detector"]), ", ",
                            Str(alert["severity"]), ", target ",
                            Str(alert["target"]), ")"));
  }
  return bytes;
}

// The canonical config hashes to the alert's config_hash, and the config
// to replay with (--config, the packaged one or the defaults) reproduces it.
absl::StatusOr<Config> CheckConfig(const Package& p, const ParsedFlags& flags) {
  const std::string config_hash = Str(p.doc["config"]["hash"]);
  const std::optional<std::string> canonical =
      ReadPackageFile(p.dir, kCanonicalConfig);
  if (!canonical.has_value() || Sha256Hex(*canonical) != config_hash) {
    p.r->Fails(
        kCanonicalConfig,
        absl::StrCat("does not hash to the alert's config_hash ", config_hash));
  } else {
    p.r->Holds(
        absl::StrCat("config.canonical.txt hashes to the alert's config_hash ",
                     config_hash.substr(0, 16), "..."));
  }
  absl::StatusOr<Config> config = absl::InternalError("unset");
  std::string config_from;
  if (flags.has("config")) {
    config = LoadConfigFile(flags.get("config"));
    config_from = flags.get("config");
  } else if (p.listed.contains(kConfigFile)) {
    config = LoadConfigFile((p.dir / kConfigFile).string());
    config_from = kConfigFile;
  } else {
    config = DefaultConfig();
    config_from = "the built-in defaults";
  }
  const char* place = flags.has("config") ? "--config" : kConfigFile;
  if (!config.ok()) {
    p.r->Fails(place,
               absl::StrCat("does not load: ", config.status().message()));
  } else if (config->hash() != config_hash) {
    p.r->Fails(place, absl::StrCat(config_from, " gives config_hash ",
                                   config->hash().substr(0, 16),
                                   "..., not the alert's (a file it names may "
                                   "have moved or changed; pass --config)"));
  } else {
    p.r->Holds(absl::StrCat("the configuration (", config_from,
                            ") reproduces that config_hash"));
  }
  return config;
}

// Each cited record the manifest lists is a listed file with the SHA-256
// given; returns the package path of each by archive line.
std::map<int64_t, std::string> CheckRecordFiles(const Package& p) {
  std::map<int64_t, std::string> record_files;
  simdjson::dom::array records;
  if (p.doc["records"].get_array().get(records) != simdjson::SUCCESS) {
    return record_files;
  }
  for (simdjson::dom::element rec : records) {
    int64_t line = 0;
    if (rec["line"].get_int64().get(line) != simdjson::SUCCESS) continue;
    const std::string file = Str(rec["file"]);
    if (!SafeRelative(file) || !p.listed.contains(file)) {
      p.r->Fails(kManifest, absl::StrCat("record of line ", line,
                                         " is not a listed file"));
      continue;
    }
    record_files[line] = file;
    const std::optional<std::string> bytes = ReadPackageFile(p.dir, file);
    if (bytes.has_value() && Sha256Hex(*bytes) != Str(rec["sha256"])) {
      p.r->Fails(file, "its SHA-256 is not the record's in the manifest");
    }
  }
  return record_files;
}

// Where the archive to replay is: --input, the package's copy, the path
// the manifest names, or its absolute form.
std::string ArchivePath(const Package& p, const ParsedFlags& flags) {
  const std::string source = Str(p.doc["input"]["path"]);
  const std::string copy = Str(p.doc["input"]["copy"]);
  std::error_code ec;
  if (flags.has("input")) return flags.get("input");
  if (!copy.empty() && SafeRelative(copy)) return (p.dir / copy).string();
  if (fs::exists(source, ec)) return source;
  return Str(p.doc["input"]["absolute_path"]);
}

// The campaign the package states, if any, is the one the replay links.
void CheckCampaign(const Package& p, const FoundAlert& found) {
  const std::string campaign_file = Str(p.doc["campaign"]);
  if (!campaign_file.empty()) {
    const std::optional<std::string> campaign =
        p.listed.contains(campaign_file) ? ReadPackageFile(p.dir, campaign_file)
                                         : std::nullopt;
    if (found.campaign.has_value() && campaign.has_value() &&
        *campaign == CampaignToJson(*found.campaign) + "\n") {
      p.r->Holds(absl::StrCat(
          "the campaign (", found.campaign->id, ", ",
          found.campaign->alerts.size(),
          " alert(s) linked as of this one) is the one the replay links"));
    } else {
      p.r->Fails(kCampaignFile,
                 "differs from the campaign the replay links the alert to");
    }
  } else if (p.doc["campaign"].error() == simdjson::NO_SUCH_FIELD) {
    // Packages made before they kept campaigns: nothing to check.
  } else if (found.campaign.has_value()) {
    p.r->Fails(kManifest, absl::StrCat("names no campaign, and the replay "
                                       "links the alert to campaign ",
                                       found.campaign->id));
  }
}

// The records the re-derived alert cites are the package's records and the
// archive's lines, byte for byte.
void CheckCitedRecords(const Package& p, const Alert& again,
                       const std::string& archive, const std::string& source,
                       const std::map<int64_t, std::string>& record_files) {
  std::set<int64_t> wanted;
  for (const SampleEvent* s : CitedSamples(again, source)) {
    wanted.insert(s->position);
  }
  absl::StatusOr<std::map<int64_t, std::string>> lines =
      ReadLines(archive, wanted);
  int same = 0;
  for (int64_t line : wanted) {
    auto it = record_files.find(line);
    if (it == record_files.end()) {
      p.r->Fails(kManifest, absl::StrCat("the alert cites line ", line,
                                         " of the archive, and the package "
                                         "has no record of it"));
      continue;
    }
    const std::optional<std::string> bytes = ReadPackageFile(p.dir, it->second);
    if (!lines.ok() || !lines->contains(line) || !bytes.has_value() ||
        lines->at(line) != *bytes) {
      p.r->Fails(it->second, absl::StrCat("is not line ", line,
                                          " of the archive byte for byte"));
    } else {
      ++same;
    }
  }
  if (same == static_cast<int>(wanted.size())) {
    p.r->Holds(absl::StrCat("all ", same,
                            " cited records are the archive's lines byte "
                            "for byte"));
  }
}

// Replays the archive (after checking it is the one the package was made
// from) and compares the alert, its baseline, campaign and cited records
// with the package's.
void CheckRederivation(const Package& p, const ParsedFlags& flags,
                       const absl::StatusOr<Config>& config,
                       const std::optional<std::string>& alert_bytes,
                       const std::map<int64_t, std::string>& record_files) {
  const std::string source = Str(p.doc["input"]["path"]);
  const std::string want_sha = Str(p.doc["input"]["sha256"]);
  const std::string archive = ArchivePath(p, flags);
  absl::StatusOr<std::string> archive_sha = Sha256FileHex(archive);
  if (!archive_sha.ok()) {
    p.r->Fails("input archive",
               absl::StrCat("cannot re-derive the alert: ", archive,
                            " cannot be read (", archive_sha.status().message(),
                            "); pass --input FILE"));
    return;
  }
  if (*archive_sha != want_sha) {
    p.r->Fails(
        "input archive",
        absl::StrCat(archive,
                     " is not the archive the package was made from "
                     "(its SHA-256 is ",
                     archive_sha->substr(0, 16), "..., the manifest says ",
                     want_sha.substr(0, 16), "...)"));
    return;
  }
  if (!config.ok()) return;
  p.r->Holds(absl::StrCat("the archive ", archive,
                          " is the one the package was made from (SHA-256 ",
                          archive_sha->substr(0, 16), "...)"));
  const std::string alert_id = Str(p.doc["alert"]["id"]);
  absl::StatusOr<FoundAlert> found =
      ReplayToAlert(*config, archive, source, alert_id, /*lifecycle=*/false);
  if (!found.ok()) {
    p.r->Fails(kAlertFile,
               absl::StrCat("does not re-derive: ", found.status().message()));
    return;
  }
  const Alert& again = found->records.front();
  if (alert_bytes.has_value() && AlertToJson(again) + "\n" == *alert_bytes) {
    p.r->Holds(absl::StrCat(
        "re-derived: replaying the archive with that configuration raises "
        "alert ",
        alert_id, " exactly as alert.json records it"));
  } else {
    p.r->Fails(kAlertFile,
               "differs from the alert the replay raises: it was changed");
  }
  const std::optional<std::string> baseline =
      ReadPackageFile(p.dir, kBaselineFile);
  if (baseline.has_value() && *baseline == BaselineJson(again)) {
    p.r->Holds(absl::StrCat(
        "the baseline (expected ", absl::StrFormat("%.4g", again.expected),
        " against observed ", absl::StrFormat("%.4g", again.observed),
        ") is the one the replay compares with"));
  } else {
    p.r->Fails(kBaselineFile,
               "differs from the baseline the replay compares with");
  }
  CheckCampaign(p, *found);
  CheckCitedRecords(p, again, archive, source, record_files);
}

absl::Status RunVerify(const ParsedFlags& flags) {
  const fs::path dir = flags.get("dir");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat(dir.string(), " is not a directory"));
  }
  Report r;
  const std::optional<std::string> manifest = ReadPackageFile(dir, kManifest);
  simdjson::dom::parser parser;
  simdjson::padded_string padded(manifest.value_or(""));
  simdjson::dom::element doc;
  if (!manifest.has_value()) {
    r.Fails(kManifest, "missing");
  } else if (parser.parse(padded).get(doc) != simdjson::SUCCESS ||
             Str(doc["format"]) != kFormat) {
    r.Fails(kManifest, absl::StrCat("not a ", kFormat,
                                    " manifest (not valid JSON, or another "
                                    "format): it was changed or replaced"));
  }
  if (!r.ok()) {
    r.Print(dir.string());
    return absl::DataLossError("the package does not verify");
  }
  CheckSignature(dir, *manifest, doc, flags, r);
  const Package p{dir, doc, CheckFiles(dir, doc, r), &r};
  CheckProvenance(p);
  const std::optional<std::string> alert_bytes = CheckAlertFile(p);
  const absl::StatusOr<Config> config = CheckConfig(p, flags);
  const std::map<int64_t, std::string> record_files = CheckRecordFiles(p);
  CheckRederivation(p, flags, config, alert_bytes, record_files);
  r.Print(dir.string());
  if (!r.ok()) {
    return absl::DataLossError(
        absl::StrCat("the package does not verify (at fault: ",
                     absl::StrJoin(r.places(), ", "), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

Command EvidenceCommand() {
  Command c;
  c.spec = {
      "evidence",
      "write a signed evidence package for one alert",
      "Replays ARCHIVE up to the alert (with the config of the run that "
      "raised it) and writes\n"
      "DIR: the alert, the original bytes of every record it cites, the "
      "baseline, the\n"
      "effective config and its hash, vigia's version and commit, the "
      "SHA-256 of the archive\n"
      "and of every file, in a manifest signed with an Ed25519 key. "
      "`vigia evidence keygen\n"
      "--key FILE` writes a new key pair (FILE and FILE.pub). See "
      "docs/evidence.md.",
      {{"mode", "keygen", "write a new Ed25519 key pair to --key FILE"},
       {"input", "ARCHIVE", "the archived feed the alert came from"},
       {"alert", "ID", "the alert id (or a prefix of at least 8 characters)"},
       {"out", "DIR", "the package directory to write (new or empty)"},
       {"key", "FILE", "Ed25519 private key (PEM, PKCS#8) to sign with"},
       {"config", "FILE", "the config of the original run (default: defaults)"},
       {"include-archive", "",
        "copy the archive into the package, so it re-derives on its own"}},
      "mode"};
  c.run = RunEvidence;
  return c;
}

Command VerifyCommand() {
  Command c;
  c.spec = {
      "verify",
      "check an evidence package and re-derive its alert",
      "Checks the manifest's Ed25519 signature and every SHA-256 in it, "
      "replays the archive\n"
      "the manifest names (the package's copy, --input, or the original "
      "path; its SHA-256\n"
      "checked first) with the packaged config, and compares the alert, its "
      "baseline and its\n"
      "cited records byte for byte. Prints what holds and what does not; "
      "exits 1 when\n"
      "anything does not. See docs/evidence.md.",
      {{"dir", "DIR", "the evidence package", true},
       {"public-key", "FILE",
        "the signer's public key (PEM): require the package to be signed by "
        "it"},
       {"input", "ARCHIVE", "where the archive is now, if it moved"},
       {"config", "FILE",
        "the config to replay with, if the packaged one no longer loads"}},
      "dir"};
  c.run = RunVerify;
  return c;
}

}  // namespace vigia::cli
