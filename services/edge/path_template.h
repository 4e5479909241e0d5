#pragma once
// URL path templates of google.api.http rules, as grpc-gateway and Envoy's
// transcoder read them:
//   Template = "/" Segments [ ":" Verb ]
//   Segment  = "*" | "**" | LITERAL | "{" field.path [ "=" Segments ] "}"
// A template matches a request path and binds its variables to (percent-
// decoded) values for request fields.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace evc::edge {

// A request field path ("charging_point.cp_id") and the text bound to it.
using Binding = std::pair<std::string, std::string>;

class PathTemplate {
 public:
  // INVALID_ARGUMENT with the position and reason for a malformed template.
  static absl::StatusOr<PathTemplate> Parse(absl::string_view text);

  // A request path (no query string) cut into segments once, to be matched
  // against many templates.
  struct SplitPath {
    bool absolute = false;
    std::vector<absl::string_view> parts;
  };
  static SplitPath Split(absl::string_view path);

  // Whether the path matches; if so, the variables it binds.
  bool Match(const SplitPath& path, std::vector<Binding>* bindings) const;
  bool Match(absl::string_view path, std::vector<Binding>* bindings) const {
    return Match(Split(path), bindings);
  }

  // Two templates with the same shape match the same paths: a conflict.
  // Variables read as "*" / "**": "/v1/cps/*:charge".
  const std::string& shape() const { return shape_; }
  // Higher matches first: literal segments outrank wildcards.
  int specificity() const { return specificity_; }
  const std::string& text() const { return text_; }
  const std::string& verb() const { return verb_; }
  // The variables' field paths, in order.
  std::vector<std::string> variables() const;

 private:
  enum class Kind { kLiteral, kStar, kDoubleStar };
  struct Segment {
    Kind kind;
    std::string literal;
  };
  struct Variable {
    std::string field_path;
    size_t first;  // segment index
    size_t end;    // one past the last segment
  };

  std::string text_;
  std::vector<Segment> segments_;
  std::vector<Variable> variables_;
  std::string verb_;
  std::string shape_;
  int specificity_ = 0;
};

// "%2F" and friends decoded; false for a malformed escape.
bool PercentDecode(absl::string_view in, std::string* out);

}  // namespace evc::edge
