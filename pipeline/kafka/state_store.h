// Detector state in Kafka: how the daemon's snapshots (operators/snapshot.h)
// are cut into records of the compacted state topic, how a consumer
// commit names the snapshot its offsets go with, and how a snapshot is read
// back. The daemon (daemon.cc) decides when; docs/state.md ("Checkpoints in
// the daemon") has the design.
//
// A snapshot is written as chunks under the broker's message limit, each
// keyed `<group>/<assignment hash>/<slot>/<n>`, followed by a manifest
// keyed `<group>/<assignment hash>/<slot>` that holds the snapshot's id,
// chunk count, size and CRC32C and the assignment it covers. Two slots (A,
// B) alternate, so compaction keeps the snapshot the last commit names
// while the next is written. Every record carries the snapshot id in a
// header, so records of other writers, other slots and older snapshots in
// between are skipped on reading.
//
// Stateless functions; ReadStateSnapshot creates and destroys its own
// short-lived consumer. Thread-compatible.
#ifndef VIGIA_PIPELINE_KAFKA_STATE_STORE_H_
#define VIGIA_PIPELINE_KAFKA_STATE_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pipeline/kafka/producer.h"
#include "pipeline/kafka/settings.h"

namespace vigia {

// Under the brokers' default message.max.bytes (1 MB), with room for the
// key and headers.
inline constexpr size_t kStateChunkBytes = 512 * 1024;

// What a consumer commit's metadata says about the state its offsets go
// with: the slot, the snapshot id, and where its first chunk was written.
struct StateRef {
  char slot = 'A';
  uint64_t id = 0;
  int32_t partition = 0;
  int64_t offset = 0;
  friend bool operator==(const StateRef&, const StateRef&) = default;
};
// "vigia-state/1 slot=A id=0123456789abcdef at=0:1234".
std::string FormatStateRef(const StateRef& ref);
// nullopt for metadata that is not a StateRef (empty, another tool's).
std::optional<StateRef> ParseStateRef(std::string_view metadata);

// The key prefix of an instance's snapshots: `<group>/<hash>` where the
// hash covers `assignment` (see AssignmentString).
std::string StateKeyPrefix(std::string_view group, std::string_view assignment);
// A canonical text for a set of (topic, partition): sorted, e.g.
// "vigia.ads:0,1;vigia.posts:0,1".
std::string AssignmentString(
    std::vector<std::pair<std::string, int32_t>> partitions);

// The records that store `snapshot` in `slot` of `topic`/`partition`:
// chunks, then the manifest. The first is where the snapshot starts.
std::vector<OutMessage> StateRecords(std::string_view topic, int32_t partition,
                                     std::string_view key_prefix, char slot,
                                     uint64_t id, std::string_view assignment,
                                     std::string_view snapshot,
                                     size_t chunk_bytes = kStateChunkBytes);

struct StoredState {
  std::string bytes;       // the snapshot, checked against the manifest
  std::string assignment;  // what the manifest says it covers
};

// Reads the snapshot `ref` names from `topic`, starting at its offset and
// taking only records whose key starts with `key_prefix` (the group's
// "<group>/": the manifest says which assignment it covers) and that carry
// its id. NotFound when it is not
// there (deleted, or never completed), DataLoss when its chunks do not add
// up to the manifest (missing, size or checksum), Unavailable when the
// topic cannot be read within `timeout`.
absl::StatusOr<StoredState> ReadStateSnapshot(const std::string& brokers,
                                              const KafkaSettings& settings,
                                              const std::string& topic,
                                              std::string_view key_prefix,
                                              const StateRef& ref,
                                              absl::Duration timeout);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_KAFKA_STATE_STORE_H_
