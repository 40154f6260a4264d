#pragma once
// Options reflection: one struct per solver/regularizer/update/problem lists its fields once, and
// the same list drives strict parsing (unknown key = error), `nmlab describe` docs, validation and
// the flattened options stored in HDF5. Core stays free of YAML: the spec reader turns YAML into a
// Params map of scalar texts with their "file:line:column".
//
//   struct ProxOptions {
//     double lambda_growth = 1.01;
//     int max_iters = 5000;
//     template <class V> void visit(V& v) {
//       v("lambda_growth", lambda_growth, "geometric growth κ of λ per iteration", rule::greater_than(1));
//       v("max_iters", max_iters, "iteration cap; then project to top-n", rule::at_least(1));
//     }
//     void validate() const {}   // optional: cross-field rules, throw SpecError
//   };
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "framework/core/errors.hpp"

namespace nmlab {

/// One scalar option as written in a spec: its text and where it was written.
struct ParamEntry {
  std::string value;
  std::string where;  ///< "file:line:column", or "--set key=value", or "" when built in code
};

/// Scalar options for one component (a solver entry, a problem, an update), before typing.
class Params {
 public:
  Params() = default;
  explicit Params(std::string where) : where_(std::move(where)) {}
  Params& set(const std::string& key, std::string value, std::string where = "") {
    entries_[key] = ParamEntry{std::move(value), std::move(where)};
    return *this;
  }
  const ParamEntry* find(const std::string& key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
  }
  const std::map<std::string, ParamEntry>& entries() const { return entries_; }
  /// Location of the map these options came from (for "missing" or cross-field errors).
  const std::string& where() const { return where_; }

 private:
  std::map<std::string, ParamEntry> entries_;
  std::string where_;
};

/// A validity rule on a field: numeric predicate or a list of allowed strings.
struct Rule {
  std::string text;                       ///< e.g. "> 0", "in [0, 1]", "one of: a, b"
  std::function<bool(double)> ok;         ///< numeric check (empty: none)
  std::vector<std::string> choices;       ///< allowed strings (empty: any)
};

namespace rule {
Rule positive();
Rule non_negative();
Rule at_least(double lo);
Rule greater_than(double lo);
Rule in_range(double lo, double hi);  ///< closed interval
Rule one_of(std::vector<std::string> choices);
}  // namespace rule

/// Documentation of one option, generated from the options struct.
struct OptionDoc {
  std::string name, type, default_value, doc, rule;
};

// ---- typed conversion ------------------------------------------------------------------------------
std::string type_name(const double*);
std::string type_name(const int*);
std::string type_name(const long*);
std::string type_name(const bool*);
std::string type_name(const std::string*);
std::string to_text(double v);
std::string to_text(int v);
std::string to_text(long v);
std::string to_text(bool v);
std::string to_text(const std::string& v);
/// Parse `text` into `out`; throws SpecError at `where` naming `context`.`key` and the expected type.
void from_text(const std::string& text, double& out, const std::string& where, const std::string& key);
void from_text(const std::string& text, int& out, const std::string& where, const std::string& key);
void from_text(const std::string& text, long& out, const std::string& where, const std::string& key);
void from_text(const std::string& text, bool& out, const std::string& where, const std::string& key);
void from_text(const std::string& text, std::string& out, const std::string& where, const std::string& key);
/// Throws SpecError if `value` breaks `r`.
void check_rule(const Rule& r, double value, const std::string& where, const std::string& key);
void check_rule(const Rule& r, const std::string& value, const std::string& where, const std::string& key);
inline double as_number(double v) { return v; }
inline double as_number(int v) { return v; }
inline double as_number(long v) { return double(v); }
inline double as_number(bool v) { return v; }

// ---- visitors --------------------------------------------------------------------------------------
class OptionParser {
 public:
  OptionParser(const Params& p, std::string context) : params_(p), context_(std::move(context)) {}
  template <class T>
  void operator()(const char* name, T& field, const char* /*doc*/, const Rule& r = {}) {
    known_.push_back(name);
    const ParamEntry* e = params_.find(name);
    if (!e) return;  // keep the default
    const std::string key = context_ + "." + name;
    from_text(e->value, field, e->where, key);
    if constexpr (std::is_same_v<T, std::string>) check_rule(r, field, e->where, key);
    else check_rule(r, as_number(field), e->where, key);
  }
  /// Throws SpecError for the first key that no field consumed, listing the known ones.
  void finish() const;

 private:
  const Params& params_;
  std::string context_;
  std::vector<std::string> known_;
};

class OptionDescriber {
 public:
  template <class T>
  void operator()(const char* name, T& field, const char* doc, const Rule& r = {}) {
    docs.push_back(OptionDoc{name, type_name(&field), to_text(field), doc, r.text});
  }
  std::vector<OptionDoc> docs;
};

class OptionFlattener {
 public:
  template <class T>
  void operator()(const char* name, T& field, const char* /*doc*/, const Rule& = {}) {
    values[name] = to_text(field);
  }
  std::map<std::string, std::string> values;
};

/// Parse options of type O from `p` strictly: unknown keys, wrong types and broken rules throw
/// SpecError at the offending key's location; then O::validate() runs if it exists.
template <class O>
O parse_options(const Params& p, const std::string& context) {
  O o;
  OptionParser parser(p, context);
  o.visit(parser);
  parser.finish();
  if constexpr (requires { o.validate(); }) {
    try {
      o.validate();
    } catch (const SpecError& e) {  // cross-field rules: point at the options' map
      if (!e.where().empty()) throw;
      throw SpecError(p.where(), context + ": " + e.what());
    }
  }
  return o;
}

template <class O>
std::vector<OptionDoc> describe_options() {
  O o;
  OptionDescriber d;
  o.visit(d);
  return d.docs;
}

template <class O>
std::map<std::string, std::string> flatten_options(const O& o) {
  O copy = o;
  OptionFlattener f;
  copy.visit(f);
  return f.values;
}

/// For components without options.
struct NoOptions {
  template <class V> void visit(V&) {}
};

}  // namespace nmlab
