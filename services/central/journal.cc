#include "services/central/journal.h"

#include "absl/time/clock.h"
#include "services/common/backoff.h"
#include "services/common/log.h"

namespace evc::central {

Journal::Journal(SupplyStore& store, absl::Duration progress_interval)
    : store_(store), progress_interval_(progress_interval), thread_([this] { Loop(); }) {}

Journal::~Journal() { Stop(); }

void Journal::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int64_t Journal::transactions() const {
  absl::MutexLock lock(&mu_);
  return transactions_;
}

void Journal::Submit(JournalBatch batch, std::function<void()> on_durable) {
  absl::MutexLock lock(&mu_);
  for (auto& s : batch.opened) pending_.opened.push_back(std::move(s));
  for (auto& s : batch.changed) changed_[s.supply_id] = std::move(s);
  for (auto& t : batch.tickets) pending_.tickets.push_back(std::move(t));
  for (auto& a : batch.audit) pending_.audit.push_back(std::move(a));
  for (auto& h : batch.holds) pending_.holds.push_back(std::move(h));
  if (on_durable) callbacks_.push_back(std::move(on_durable));
}

void Journal::MarkPublished(const std::string& supply_id) {
  absl::MutexLock lock(&mu_);
  pending_.published_tickets.push_back(supply_id);
}

bool Journal::Urgent() const {
  return !pending_.opened.empty() || !pending_.tickets.empty() || !pending_.holds.empty() ||
         !callbacks_.empty();
}

void Journal::Loop() {
  absl::Time last_flush = absl::Now();
  while (true) {
    JournalBatch batch;
    std::vector<std::function<void()>> callbacks;
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this, &last_flush]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || Urgent();
      };
      // Wake for urgent work at once, otherwise at the progress interval.
      mu_.AwaitWithDeadline(absl::Condition(&ready), last_flush + progress_interval_);
      stopping = stopping_;
      batch = std::move(pending_);
      pending_ = JournalBatch();
      for (auto& [id, s] : changed_) batch.changed.push_back(std::move(s));
      changed_.clear();
      callbacks.swap(callbacks_);
    }
    last_flush = absl::Now();
    if (!batch.empty()) {
      Backoff backoff(absl::Milliseconds(50), absl::Seconds(5));
      while (true) {
        absl::Status s = store_.Write(batch);
        if (s.ok()) break;
        log::Error("journal write failed, retrying", {{"error", s.ToString()}});
        absl::SleepFor(backoff.Next());
      }
      absl::MutexLock lock(&mu_);
      ++transactions_;
    }
    for (auto& cb : callbacks) cb();
    if (stopping) {
      absl::MutexLock lock(&mu_);
      if (pending_.empty() && changed_.empty() && callbacks_.empty()) return;
    }
  }
}

}  // namespace evc::central
