#pragma once
// Experiment specs: YAML -> located tree -> sweep expansion -> typed trials.
//
// Every YAML sequence is a sweep axis; the trials are the cartesian product of all axes (a sequence of
// maps, like `solver:`, is an axis of alternatives). Each trial is then read strictly: an unknown key,
// a wrong type or an invalid value is a SpecError at "file:line:column" that says what to change.
#include <map>
#include <string>
#include <vector>

#include "framework/runner/task.hpp"

namespace nmlab {

/// A YAML node with the place it was written. Maps keep their key order and each key's location.
struct SpecNode {
  enum class Kind { null, scalar, map, seq };
  Kind kind = Kind::null;
  std::string scalar;
  std::vector<std::string> keys;        ///< map keys, in order
  std::vector<std::string> key_where;   ///< location of each key
  std::vector<SpecNode> children;       ///< map values (parallel to keys) or sequence items
  std::string where;                    ///< "file:line:column" of this node

  const SpecNode* find(const std::string& key) const;
  bool is_map() const { return kind == Kind::map; }
  bool is_seq() const { return kind == Kind::seq; }
  bool is_scalar() const { return kind == Kind::scalar; }
};

/// The keys a spec may have at its top level (docs/SPEC.md documents each; a test checks it).
const std::vector<std::string>& spec_top_level_keys();

/// Parses YAML text; syntax errors become SpecError with file:line:column.
SpecNode parse_yaml(const std::string& text, const std::string& file);
/// Canonical flow-style YAML of a node (used for resolved specs and trial identity).
std::string to_yaml(const SpecNode& node);
/// Applies `key.path=value` (value parsed as YAML; a list makes a sweep axis). Sequence items are
/// addressed by index: `solver.1.lambda_growth=1.05`.
void apply_override(SpecNode& root, const std::string& assignment);

/// How `nmlab report` should present the run (read by plotting/, stored with the spec).
struct ReportOptions {
  std::string baseline;  ///< solver label to normalise by ("exhaustive"); empty: none
  std::string x;         ///< summary column for the x axis of plots ("problem.rho"); empty: auto
};

struct Spec {
  std::string file;           ///< path of the spec file
  std::string name;           ///< experiment name: results go to <out>/<name>/
  std::string description;
  std::string resolved_yaml;  ///< the spec after --set overrides, canonical text
  long base_seed = 0;
  bool save_masks = false;
  std::string backend = "cpu";
  std::string transposable_method = "tn_flow";
  ReportOptions report;
  std::vector<TrialInputs> trials;
};

/// Reads, overrides, expands and strictly checks a spec (syntax and keys; registry names and option
/// values are checked by validate_spec).
Spec load_spec(const std::string& path, const std::vector<std::string>& overrides = {});
Spec load_spec_text(const std::string& text, const std::string& file, const std::vector<std::string>& overrides = {});

/// Checks every trial against the registries (names, options, shapes, solver support) without running.
void validate_spec(const Spec& spec);

}  // namespace nmlab
