#include "pipeline/kafka/state_store.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "operators/snapshot.h"

namespace vigia {
namespace {

constexpr std::string_view kRefPrefix = "vigia-state/1 ";
constexpr std::string_view kManifestMagic = "vigia-state-manifest/1";
constexpr char kIdHeader[] = "vigia-state-id";
constexpr char kPartHeader[] = "vigia-state-part";

std::string Hex(uint64_t v) {
  return absl::StrCat(absl::Hex(v, absl::kZeroPad16));
}

template <typename T>
bool ParseInt(std::string_view s, T* out, int base = 10) {
  if (s.empty()) return false;
  const auto [end, ec] =
      std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return ec == std::errc() && end == s.data() + s.size();
}

bool ParseHex(std::string_view s, uint64_t* out) {
  return s.size() == 16 && ParseInt(s, out, 16);
}

// Splits at the first `sep`; the second part is empty without one.
std::pair<std::string_view, std::string_view> Cut(std::string_view s,
                                                  char sep) {
  const size_t at = s.find(sep);
  if (at == std::string_view::npos) return {s, std::string_view()};
  return {s.substr(0, at), s.substr(at + 1)};
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

// The value of header `name`, or nullopt.
std::optional<std::string_view> Header(const rd_kafka_message_t* m,
                                       const char* name) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, name, &value, &size) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  return std::string_view(static_cast<const char*>(value), size);
}

struct Manifest {
  uint64_t id = 0;
  int64_t chunks = 0;
  int64_t bytes = 0;
  uint32_t crc = 0;
  std::string assignment;
};

std::optional<Manifest> ParseManifest(std::string_view text) {
  std::vector<std::string_view> lines = Split(text, '\n');
  if (lines.empty() || lines[0] != kManifestMagic) return std::nullopt;
  Manifest m;
  int found = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto kv = Cut(lines[i], ' ');
    if (kv.first == "id" && ParseHex(kv.second, &m.id)) {
      ++found;
    } else if (kv.first == "chunks" && ParseInt(kv.second, &m.chunks)) {
      ++found;
    } else if (kv.first == "bytes" && ParseInt(kv.second, &m.bytes)) {
      ++found;
    } else if (kv.first == "crc32c" && ParseInt(kv.second, &m.crc)) {
      ++found;
    } else if (kv.first == "assignment") {
      m.assignment = std::string(kv.second);
      ++found;
    }
  }
  if (found != 5 || m.chunks < 1 || m.bytes < 0) return std::nullopt;
  return m;
}

}  // namespace

std::string FormatStateRef(const StateRef& ref) {
  return absl::StrCat(std::string(kRefPrefix),
                      "slot=", std::string(1, ref.slot), " id=", Hex(ref.id),
                      " at=", ref.partition, ":", ref.offset);
}

std::optional<StateRef> ParseStateRef(std::string_view metadata) {
  if (!metadata.starts_with(kRefPrefix)) return std::nullopt;
  metadata.remove_prefix(kRefPrefix.size());
  StateRef ref;
  int found = 0;
  for (std::string_view field : Split(metadata, ' ')) {
    const auto kv = Cut(field, '=');
    if (kv.first == "slot" && (kv.second == "A" || kv.second == "B")) {
      ref.slot = kv.second[0];
      ++found;
    } else if (kv.first == "id" && ParseHex(kv.second, &ref.id)) {
      ++found;
    } else if (kv.first == "at") {
      const auto at = Cut(kv.second, ':');
      if (ParseInt(at.first, &ref.partition) &&
          ParseInt(at.second, &ref.offset) && ref.partition >= 0 &&
          ref.offset >= 0) {
        ++found;
      }
    }
  }
  if (found != 3) return std::nullopt;
  return ref;
}

std::string AssignmentString(
    std::vector<std::pair<std::string, int32_t>> partitions) {
  std::sort(partitions.begin(), partitions.end());
  std::string out;
  std::string_view topic;
  for (const auto& [t, p] : partitions) {
    if (t != topic || out.empty()) {
      if (!out.empty()) out += ';';
      absl::StrAppend(&out, t, ":", p);
      topic = t;
    } else {
      absl::StrAppend(&out, ",", p);
    }
  }
  return out;
}

std::string StateKeyPrefix(std::string_view group,
                           std::string_view assignment) {
  // CRC32C twice (different seeds) makes a 64-bit name for the
  // assignment: keys stay short however many partitions it has, and the
  // manifest holds the assignment itself, which is what restoring checks.
  const uint64_t hash = (static_cast<uint64_t>(Crc32c(assignment)) << 32) |
                        Crc32c(assignment, 0x9e3779b9u);
  return absl::StrCat(std::string(group), "/", Hex(hash));
}

std::vector<OutMessage> StateRecords(std::string_view topic, int32_t partition,
                                     std::string_view key_prefix, char slot,
                                     uint64_t id, std::string_view assignment,
                                     std::string_view snapshot,
                                     size_t chunk_bytes) {
  std::vector<OutMessage> out;
  const size_t chunks =
      std::max<size_t>(1, (snapshot.size() + chunk_bytes - 1) / chunk_bytes);
  const std::string slot_key =
      absl::StrCat(std::string(key_prefix), "/", std::string(1, slot));
  for (size_t n = 0; n < chunks; ++n) {
    OutMessage m;
    m.topic = std::string(topic);
    m.partition = partition;
    m.key = absl::StrCat(slot_key, "/", n);
    m.value = std::string(snapshot.substr(
        std::min(snapshot.size(), n * chunk_bytes), chunk_bytes));
    m.headers = {{kIdHeader, Hex(id)},
                 {kPartHeader, absl::StrCat(n, "/", chunks)}};
    m.output = "state";
    out.push_back(std::move(m));
  }
  OutMessage manifest;
  manifest.topic = std::string(topic);
  manifest.partition = partition;
  manifest.key = slot_key;
  manifest.value = absl::StrCat(std::string(kManifestMagic), "\nid ", Hex(id),
                                "\nchunks ", chunks, "\nbytes ",
                                snapshot.size(), "\ncrc32c ", Crc32c(snapshot),
                                "\nassignment ", std::string(assignment), "\n");
  manifest.headers = {{kIdHeader, Hex(id)}, {kPartHeader, "manifest"}};
  manifest.output = "state";
  out.push_back(std::move(manifest));
  return out;
}

absl::StatusOr<StoredState> ReadStateSnapshot(const std::string& brokers,
                                              const KafkaSettings& settings,
                                              const std::string& topic,
                                              std::string_view key_prefix,
                                              const StateRef& ref,
                                              absl::Duration timeout) {
  KafkaSettings forced = {
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "true"},
      {"client.id", "vigia-state-reader"},
      // Whole chunks in one fetch.
      {"fetch.message.max.bytes", "2097152"},
  };
  if (!brokers.empty()) forced["bootstrap.servers"] = brokers;
  // librdkafka wants a group for assign(); this reader never joins it
  // (no subscribe) and never commits.
  forced["group.id"] = "vigia-state-reader";
  KafkaSettings passthrough = settings;
  passthrough.erase("group.instance.id");
  absl::StatusOr<KafkaConfPtr> conf = MakeKafkaConf({}, passthrough, forced);
  if (!conf.ok()) return conf.status();
  RouteKafkaLogs(conf->get());
  char errstr[512];
  rd_kafka_t* rk =
      rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), errstr, sizeof(errstr));
  if (rk == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create the state reader: ", errstr));
  }
  conf->release();
  struct Destroy {
    rd_kafka_t* rk;
    ~Destroy() {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  } destroy{rk};

  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), ref.partition)
      ->offset = ref.offset;
  const rd_kafka_resp_err_t assigned = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (assigned != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("cannot read ", topic, ": ", rd_kafka_err2str(assigned)));
  }

  const std::string id = Hex(ref.id);
  std::map<int64_t, std::string> chunks;
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
  std::string last_error;
  while (std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    struct Free {
      rd_kafka_message_t* m;
      ~Free() { rd_kafka_message_destroy(m); }
    } free_message{m};
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      return absl::NotFoundError(absl::StrCat(
          "snapshot ", id, " (slot ", std::string(1, ref.slot),
          ") is not complete in ", topic, "/", ref.partition, " from offset ",
          ref.offset, " (", chunks.size(),
          " chunk(s) found, no manifest): deleted, or never finished"));
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      last_error = rd_kafka_message_errstr(m);
      if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
          m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        return absl::NotFoundError(absl::StrCat(
            "snapshot ", id, " at ", topic, "/", ref.partition, " offset ",
            ref.offset, " is no longer in the topic: ", last_error));
      }
      continue;
    }
    if (m->offset < ref.offset) continue;
    const std::string_view key(static_cast<const char*>(m->key), m->key_len);
    if (!key.starts_with(key_prefix)) continue;
    std::optional<std::string_view> header_id = Header(m, kIdHeader);
    std::optional<std::string_view> part = Header(m, kPartHeader);
    if (!header_id.has_value() || *header_id != id || !part.has_value()) {
      continue;
    }
    const std::string_view value(static_cast<const char*>(m->payload), m->len);
    if (*part != "manifest") {
      const auto nk = Cut(*part, '/');
      int64_t n = 0;
      if (!ParseInt(nk.first, &n)) {
        return absl::DataLossError(absl::StrCat(
            "snapshot ", id, ": chunk header '", std::string(*part),
            "' at offset ", m->offset, " is not a chunk number"));
      }
      chunks[n] = std::string(value);
      continue;
    }
    std::optional<Manifest> manifest = ParseManifest(value);
    if (!manifest.has_value() || manifest->id != ref.id) {
      return absl::DataLossError(absl::StrCat("snapshot ", id,
                                              ": the manifest at offset ",
                                              m->offset, " does not read"));
    }
    StoredState out;
    out.assignment = manifest->assignment;
    for (int64_t n = 0; n < manifest->chunks; ++n) {
      auto it = chunks.find(n);
      if (it == chunks.end()) {
        return absl::DataLossError(
            absl::StrCat("snapshot ", id, ": chunk ", n, " of ",
                         manifest->chunks, " is missing before its manifest"));
      }
      out.bytes += it->second;
    }
    if (static_cast<int64_t>(out.bytes.size()) != manifest->bytes) {
      return absl::DataLossError(
          absl::StrCat("snapshot ", id, ": ", out.bytes.size(),
                       " bytes, the manifest says ", manifest->bytes));
    }
    if (Crc32c(out.bytes) != manifest->crc) {
      return absl::DataLossError(absl::StrCat(
          "snapshot ", id, ": checksum mismatch against its manifest (CRC32C ",
          Crc32c(out.bytes), ", manifest ", manifest->crc, ")"));
    }
    return out;
  }
  return absl::UnavailableError(absl::StrCat(
      "snapshot ", id, " not read from ", topic, "/", ref.partition, " within ",
      absl::FormatDuration(timeout),
      last_error.empty() ? std::string() : absl::StrCat(": ", last_error)));
}

}  // namespace vigia
