#include "services/common/sealed.h"

#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"

namespace evc {
namespace {

// Envelopes are small; anything far larger is not one of ours.
constexpr size_t kMaxEnvelopeBytes = 64 * 1024;

// The header as associated data: changing any of it breaks the tag.
std::string AssociatedData(const events::v1::SealedEnvelope& e) {
  return absl::StrCat("evc-sealed-v1|", static_cast<int>(e.direction()), "|", e.cp_id(), "|",
                      e.key_id(), "|", e.counter());
}

}  // namespace

absl::StatusOr<events::v1::SealedEnvelope> SealEnvelope(Direction direction, const std::string& cp_id,
                                         const CpKey& key, uint64_t counter,
                                         absl::string_view plaintext) {
  events::v1::SealedEnvelope e;
  e.set_direction(direction);
  e.set_cp_id(cp_id);
  e.set_key_id(key.key_id);
  e.set_counter(counter);
  absl::StatusOr<crypto::Sealed> sealed = crypto::AesGcmSeal(key.key, AssociatedData(e), plaintext);
  if (!sealed.ok()) return sealed.status();
  e.set_nonce(std::move(sealed->nonce));
  e.set_ciphertext(std::move(sealed->ciphertext));
  e.set_tag(std::move(sealed->tag));
  return e;
}

absl::StatusOr<OpenedEnvelope> OpenEnvelope(absl::string_view wire, Direction expected,
                                            const KeyLookup& keys, absl::Time now) {
  events::v1::SealedEnvelope e;
  if (wire.size() > kMaxEnvelopeBytes || !e.ParseFromArray(wire.data(), static_cast<int>(wire.size()))) {
    return absl::InvalidArgumentError("not a sealed envelope");
  }
  if (e.cp_id().empty() || e.key_id().empty() || e.counter() == 0) {
    return absl::InvalidArgumentError("envelope header incomplete (cp_id, key_id, counter)");
  }
  if (e.direction() != expected) {
    return absl::UnauthenticatedError("envelope sealed for the other direction");
  }
  const CpKey* key = keys(e.cp_id(), e.key_id());
  if (key == nullptr) {
    return absl::UnauthenticatedError(
        absl::StrCat("unknown key '", e.key_id(), "' for charging point '", e.cp_id(), "'"));
  }
  if (now > key->not_after) {
    return absl::UnauthenticatedError(absl::StrCat("key '", e.key_id(), "' has expired"));
  }
  absl::StatusOr<std::string> plaintext = crypto::AesGcmOpen(
      key->key, AssociatedData(e), {e.nonce(), e.ciphertext(), e.tag()});
  if (absl::IsInvalidArgument(plaintext.status())) {
    return absl::InvalidArgumentError(absl::StrCat("malformed envelope: ", plaintext.status().message()));
  }
  if (!plaintext.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("envelope does not verify under key '", e.key_id(), "'"));
  }
  return OpenedEnvelope{e.cp_id(), e.key_id(), e.counter(), std::move(*plaintext)};
}

absl::Status ReplayGuard::Accept(const std::string& cp_id, uint64_t counter) {
  uint64_t& last = last_[cp_id];
  if (counter <= last) {
    return absl::FailedPreconditionError(absl::StrCat(
        "replayed or reordered envelope: counter ", counter, " after ", last));
  }
  last = counter;
  return absl::OkStatus();
}

void ReplayGuard::Restore(const std::string& cp_id, uint64_t counter) {
  uint64_t& last = last_[cp_id];
  last = std::max(last, counter);
}

uint64_t ReplayGuard::Mark(const std::string& cp_id) const {
  auto it = last_.find(cp_id);
  return it == last_.end() ? 0 : it->second;
}

uint64_t SealCounter::Next(absl::Time now) {
  absl::MutexLock lock(&mu_);
  const uint64_t micros = static_cast<uint64_t>(std::max<int64_t>(absl::ToUnixMicros(now), 0));
  last_ = std::max(last_ + 1, micros);
  return last_;
}

void KeyRing::Set(const std::string& cp_id, std::vector<CpKey> keys) {
  absl::MutexLock lock(&mu_);
  keys_[cp_id] = std::move(keys);
}

void KeyRing::Remove(const std::string& cp_id) {
  absl::MutexLock lock(&mu_);
  keys_.erase(cp_id);
  in_use_.erase(cp_id);
}

void KeyRing::MarkInUse(const std::string& cp_id, const std::string& key_id) {
  absl::MutexLock lock(&mu_);
  std::string& current = in_use_[cp_id];
  if (current != key_id) current = key_id;
}

bool KeyRing::HasAny(const std::string& cp_id) const {
  absl::MutexLock lock(&mu_);
  return keys_.contains(cp_id);
}

bool KeyRing::Has(const std::string& cp_id, const std::string& key_id) const {
  return Find(cp_id, key_id).has_value();
}

std::optional<CpKey> KeyRing::Find(const std::string& cp_id, const std::string& key_id) const {
  absl::MutexLock lock(&mu_);
  auto it = keys_.find(cp_id);
  if (it == keys_.end()) return std::nullopt;
  for (const CpKey& k : it->second) {
    if (k.key_id == key_id) return k;
  }
  return std::nullopt;
}

std::optional<CpKey> KeyRing::ForSealing(const std::string& cp_id, absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = keys_.find(cp_id);
  if (it == keys_.end()) return std::nullopt;
  auto used = in_use_.find(cp_id);
  const std::string preferred = used == in_use_.end() ? "" : used->second;
  const CpKey* newest = nullptr;
  for (const CpKey& k : it->second) {
    if (now > k.not_after) continue;
    if (k.key_id == preferred) return k;
    newest = &k;
  }
  if (newest == nullptr) return std::nullopt;
  return *newest;
}

}  // namespace evc
