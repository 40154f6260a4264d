#include "framework/core/options.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

namespace nmlab {

namespace rule {
Rule positive() { return {"> 0", [](double v) { return v > 0; }, {}}; }
Rule non_negative() { return {">= 0", [](double v) { return v >= 0; }, {}}; }
Rule at_least(double lo) { return {">= " + to_text(lo), [lo](double v) { return v >= lo; }, {}}; }
Rule greater_than(double lo) { return {"> " + to_text(lo), [lo](double v) { return v > lo; }, {}}; }
Rule in_range(double lo, double hi) {
  return {"in [" + to_text(lo) + ", " + to_text(hi) + "]", [lo, hi](double v) { return v >= lo && v <= hi; }, {}};
}
Rule one_of(std::vector<std::string> choices) {
  std::string text = "one of:";
  for (auto& c : choices) text += " " + c;
  return {text, {}, std::move(choices)};
}
}  // namespace rule

std::string type_name(const double*) { return "float"; }
std::string type_name(const int*) { return "int"; }
std::string type_name(const long*) { return "int"; }
std::string type_name(const bool*) { return "bool"; }
std::string type_name(const std::string*) { return "string"; }

std::string to_text(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return "nan";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, res.ptr);
}
std::string to_text(int v) { return std::to_string(v); }
std::string to_text(long v) { return std::to_string(v); }
std::string to_text(bool v) { return v ? "true" : "false"; }
std::string to_text(const std::string& v) { return v; }

namespace {
[[noreturn]] void bad(const std::string& where, const std::string& key, const std::string& text, const char* want) {
  throw SpecError(where, key + ": expected " + want + ", got '" + text + "'");
}
template <class I>
void parse_int(const std::string& text, I& out, const std::string& where, const std::string& key) {
  I v{};
  auto res = std::from_chars(text.data(), text.data() + text.size(), v);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size()) bad(where, key, text, "an integer");
  out = v;
}
}  // namespace

void from_text(const std::string& text, double& out, const std::string& where, const std::string& key) {
  if (text == ".inf" || text == "inf") { out = INFINITY; return; }
  double v{};
  auto res = std::from_chars(text.data(), text.data() + text.size(), v);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size() || !std::isfinite(v))
    bad(where, key, text, "a finite number");
  out = v;
}
void from_text(const std::string& text, int& out, const std::string& where, const std::string& key) {
  parse_int(text, out, where, key);
}
void from_text(const std::string& text, long& out, const std::string& where, const std::string& key) {
  parse_int(text, out, where, key);
}
void from_text(const std::string& text, bool& out, const std::string& where, const std::string& key) {
  if (text == "true") out = true;
  else if (text == "false") out = false;
  else bad(where, key, text, "true or false");
}
void from_text(const std::string& text, std::string& out, const std::string&, const std::string&) { out = text; }

void check_rule(const Rule& r, double value, const std::string& where, const std::string& key) {
  if (r.ok && !r.ok(value)) throw SpecError(where, key + " = " + to_text(value) + " must be " + r.text);
}
void check_rule(const Rule& r, const std::string& value, const std::string& where, const std::string& key) {
  if (r.choices.empty()) return;
  for (const auto& c : r.choices)
    if (c == value) return;
  throw SpecError(where, key + " = '" + value + "' must be " + r.text);
}

void OptionParser::finish() const {
  for (const auto& [key, entry] : params_.entries()) {
    bool found = false;
    for (const auto& k : known_) found = found || k == key;
    if (found) continue;
    std::string known;
    for (const auto& k : known_) known += (known.empty() ? "" : ", ") + k;
    throw SpecError(entry.where, "unknown option '" + key + "' for " + context_ +
                                     (known.empty() ? " (it takes no options)" : "; known options: " + known));
  }
}

}  // namespace nmlab
