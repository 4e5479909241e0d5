#include "services/central/replay_marks.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/central/pg_leadership.h"

namespace evc::central {

absl::StatusOr<std::vector<ReplayMark>> PgReplayMarkStore::LoadReplayMarks() {
  std::vector<ReplayMark> marks;
  absl::Status s = pool_.Transact([&](pqxx::work& tx) {
    pqxx::result r = tx.exec("SELECT cp_id, counter::text, kafka_partition, kafka_offset FROM replay_marks");
    for (const pqxx::row& row : r) {
      ReplayMark m{row[0].as<std::string>(), 0, row[2].as<int32_t>(), row[3].as<int64_t>()};
      if (!absl::SimpleAtoi(row[1].as<std::string>(), &m.counter)) continue;
      marks.push_back(std::move(m));
    }
  });
  if (!s.ok()) return s;
  return marks;
}

absl::Status PgReplayMarkStore::SaveReplayMarks(const std::vector<ReplayMark>& marks) {
  if (marks.empty()) return absl::OkStatus();
  return pool_.Transact([&](pqxx::work& tx) {
    CheckLeaderFence(tx, fence_);
    for (const ReplayMark& m : marks) {
      tx.exec_params(
          "INSERT INTO replay_marks (cp_id, counter, kafka_partition, kafka_offset)"
          " VALUES ($1, $2::numeric, $3, $4)"
          " ON CONFLICT (cp_id) DO UPDATE SET counter = excluded.counter,"
          "   kafka_partition = excluded.kafka_partition, kafka_offset = excluded.kafka_offset,"
          "   updated_at = now()"
          " WHERE replay_marks.counter < excluded.counter",
          m.cp_id, absl::StrCat(m.counter), m.partition, m.offset);
    }
  });
}

}  // namespace evc::central
