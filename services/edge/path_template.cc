#include "services/edge/path_template.h"

#include <cctype>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace evc::edge {
namespace {

bool IsIdentifier(absl::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

bool IsLiteral(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c == '/' || c == '{' || c == '}' || c == '*' || c == ':' || c == '=') return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool PercentDecode(absl::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

absl::StatusOr<PathTemplate> PathTemplate::Parse(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("path template '", text, "': ", why));
  };
  if (text.empty() || text[0] != '/') return bad("must start with '/'");
  PathTemplate t;
  t.text_ = std::string(text);
  absl::string_view rest = text.substr(1);

  // The verb follows the last ':' outside braces.
  size_t depth = 0, verb_at = absl::string_view::npos;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '{') ++depth;
    if (rest[i] == '}') {
      if (depth == 0) return bad("'}' without '{'");
      --depth;
    }
    if (rest[i] == ':' && depth == 0) verb_at = i;
  }
  if (depth != 0) return bad("'{' without '}'");
  if (verb_at != absl::string_view::npos) {
    t.verb_ = std::string(rest.substr(verb_at + 1));
    if (!IsLiteral(t.verb_)) return bad("the verb after ':' must be a literal");
    rest = rest.substr(0, verb_at);
  }

  // Segments; a variable's "=" sub-template may itself span segments.
  size_t i = 0;
  auto add_segment = [&](absl::string_view s) -> absl::Status {
    if (s == "*") {
      t.segments_.push_back({Kind::kStar, ""});
    } else if (s == "**") {
      t.segments_.push_back({Kind::kDoubleStar, ""});
    } else if (IsLiteral(s)) {
      t.segments_.push_back({Kind::kLiteral, std::string(s)});
    } else {
      return bad(absl::StrCat("bad segment '", s, "'"));
    }
    return absl::OkStatus();
  };
  while (i <= rest.size()) {
    if (i < rest.size() && rest[i] == '{') {
      size_t close = rest.find('}', i);
      absl::string_view inside = rest.substr(i + 1, close - i - 1);
      std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(inside, absl::MaxSplits('=', 1));
      for (absl::string_view id : absl::StrSplit(parts.first, '.')) {
        if (!IsIdentifier(id)) return bad(absl::StrCat("bad field path '", parts.first, "'"));
      }
      Variable v{std::string(parts.first), t.segments_.size(), 0};
      absl::string_view sub = inside.find('=') == absl::string_view::npos ? "*" : parts.second;
      for (absl::string_view s : absl::StrSplit(sub, '/')) {
        if (absl::Status st = add_segment(s); !st.ok()) return st;
      }
      v.end = t.segments_.size();
      t.variables_.push_back(std::move(v));
      i = close + 1;
      if (i < rest.size() && rest[i] != '/') return bad("a variable must be a whole segment");
      ++i;
      continue;
    }
    size_t slash = rest.find('/', i);
    if (slash == absl::string_view::npos) slash = rest.size();
    if (absl::Status st = add_segment(rest.substr(i, slash - i)); !st.ok()) return st;
    i = slash + 1;
  }

  for (size_t k = 0; k < t.segments_.size(); ++k) {
    if (t.segments_[k].kind == Kind::kDoubleStar && k + 1 != t.segments_.size()) {
      return bad("'**' must be the last segment");
    }
  }
  for (size_t a = 0; a < t.variables_.size(); ++a) {
    for (size_t b = a + 1; b < t.variables_.size(); ++b) {
      if (t.variables_[a].field_path == t.variables_[b].field_path) {
        return bad(absl::StrCat("field '", t.variables_[a].field_path, "' bound twice"));
      }
    }
  }

  std::vector<std::string> shape;
  for (const Segment& s : t.segments_) {
    switch (s.kind) {
      case Kind::kLiteral: shape.push_back(s.literal); t.specificity_ += 100; break;
      case Kind::kStar: shape.push_back("*"); t.specificity_ += 10; break;
      case Kind::kDoubleStar: shape.push_back("**"); break;
    }
  }
  if (!t.verb_.empty()) t.specificity_ += 1;
  t.shape_ = absl::StrCat("/", absl::StrJoin(shape, "/"), t.verb_.empty() ? "" : ":", t.verb_);
  return t;
}

PathTemplate::SplitPath PathTemplate::Split(absl::string_view path) {
  SplitPath split;
  if (path.empty() || path[0] != '/') return split;
  split.absolute = true;
  split.parts = absl::StrSplit(path.substr(1), '/');
  return split;
}

bool PathTemplate::Match(const SplitPath& path, std::vector<Binding>* bindings) const {
  if (!path.absolute) return false;
  const std::vector<absl::string_view>& parts = path.parts;
  // The verb is the end of the last segment: ":charge".
  absl::string_view last = parts.back();
  if (!verb_.empty()) {
    if (last.size() <= verb_.size() || !absl::EndsWith(last, verb_) || last[last.size() - verb_.size() - 1] != ':') {
      return false;
    }
    last.remove_suffix(verb_.size() + 1);
  }
  auto part = [&](size_t k) { return k + 1 == parts.size() ? last : parts[k]; };
  const bool open_end = !segments_.empty() && segments_.back().kind == Kind::kDoubleStar;
  if (open_end ? parts.size() < segments_.size() - 1 : parts.size() != segments_.size()) return false;
  for (size_t k = 0; k < segments_.size(); ++k) {
    const Segment& s = segments_[k];
    if (s.kind == Kind::kDoubleStar) break;
    if (part(k).empty()) return false;
    if (s.kind == Kind::kLiteral && part(k) != s.literal) return false;
  }
  std::vector<Binding> bound;
  for (const Variable& v : variables_) {
    size_t end = (v.end == segments_.size() && open_end) ? parts.size() : v.end;
    std::vector<std::string> values;
    for (size_t k = v.first; k < end; ++k) {
      std::string decoded;
      if (!PercentDecode(part(k), &decoded)) return false;
      values.push_back(std::move(decoded));
    }
    bound.emplace_back(v.field_path, absl::StrJoin(values, "/"));
  }
  if (bindings != nullptr) *bindings = std::move(bound);
  return true;
}

std::vector<std::string> PathTemplate::variables() const {
  std::vector<std::string> out;
  for (const Variable& v : variables_) out.push_back(v.field_path);
  return out;
}

}  // namespace evc::edge
