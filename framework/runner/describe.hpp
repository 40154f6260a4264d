#pragma once
// Text generated from the registry: `nmlab list`, `nmlab describe`, and the option reference that
// docs/SPEC.md embeds (a test checks that the doc matches this text).
#include <string>

namespace nmlab {

/// One line per component of `kind` ("solvers", ...), or of every kind when empty.
std::string list_components(const std::string& kind);
/// Options, defaults, rules and docs of one component; kind is singular ("solver").
std::string describe_component(const std::string& kind, const std::string& name);
/// Markdown tables of every registered component's options.
std::string options_reference_markdown();

}  // namespace nmlab
