#pragma once
// What a late joiner of a shared upstream stream needs to stand level with
// the clients that have watched it from the start: the messages so far
// folded into the one message that stands for all of them. A stream type
// with no fold is never shared, since a joiner would miss what came before.

#include <memory>
#include <optional>
#include <string>

#include <google/protobuf/descriptor.h>

namespace evc::edge {

class StreamFold {
 public:
  virtual ~StreamFold() = default;
  // Takes in one message of the stream, as its wire bytes.
  virtual void Apply(const std::string& bytes) = 0;
  // The first message for a joiner, as wire bytes of the stream's type;
  // nullopt while the fold cannot stand for what was sent (no snapshot yet,
  // or a message it does not understand came).
  virtual std::optional<std::string> CatchUp() const = 0;
};

// The fold for streams of `type`, or null when there is none. Knowing what a
// stream's messages mean is more than the google.api.http annotations say,
// so this is the one place the edge knows a message by type.
std::unique_ptr<StreamFold> NewStreamFold(const google::protobuf::Descriptor& type);

}  // namespace evc::edge
