#include "framework/runner/describe.hpp"

#include <iomanip>
#include <sstream>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"

namespace nmlab {
namespace {

template <class Fn>
void for_each_registry(Fn&& fn) {
  const auto& r = builtins();
  fn("solvers", "solver", r.solvers.entries());
  fn("updates", "update", r.updates.entries());
  fn("regularizers", "regularizer", r.regularizers.entries());
  fn("problems", "problem", r.problems.entries());
  fn("tasks", "task", r.tasks.entries());
}

template <class E>
std::string describe_entry(const std::string& kind, const E& e) {
  std::ostringstream out;
  out << kind << " " << e.name << ": " << e.summary << "\n";
  if (e.options.empty()) out << "  (no options)\n";
  for (const auto& o : e.options) {
    out << "  " << std::left << std::setw(22) << o.name << std::setw(8) << o.type << "default " << std::setw(10)
        << o.default_value << " " << (o.rule.empty() ? "" : "[" + o.rule + "]  ") << o.doc << "\n";
  }
  return out.str();
}

}  // namespace

std::string list_components(const std::string& kind) {
  std::ostringstream out;
  for_each_registry([&](const std::string& plural, const std::string&, const auto& entries) {
    if (!kind.empty() && kind != plural) return;
    if (kind.empty()) out << plural << ":\n";
    for (const auto* e : entries) out << (kind.empty() ? "  " : "") << std::left << std::setw(22) << e->name << e->summary << "\n";
  });
  return out.str();
}

std::string describe_component(const std::string& kind, const std::string& name) {
  std::string found;
  bool kind_known = false;
  for_each_registry([&](const std::string&, const std::string& singular, const auto& entries) {
    if (singular != kind) return;
    kind_known = true;
    std::string known;
    for (const auto* e : entries) {
      if (e->name == name) found = describe_entry(singular, *e);
      known += (known.empty() ? "" : ", ") + e->name;
    }
    if (found.empty()) throw SpecError("", "unknown " + kind + " '" + name + "'; known: " + known);
  });
  if (!kind_known) throw SpecError("", "unknown kind '" + kind + "'; use solver, update, regularizer, problem or task");
  return found;
}

std::string options_reference_markdown() {
  std::ostringstream out;
  for_each_registry([&](const std::string& plural, const std::string& singular, const auto& entries) {
    out << "### " << plural << "\n\n";
    for (const auto* e : entries) {
      out << "#### " << singular << " `" << e->name << "`\n\n" << e->summary << "\n\n";
      if (e->options.empty()) {
        out << "No options.\n\n";
        continue;
      }
      out << "| option | type | default | rule | meaning |\n|---|---|---|---|---|\n";
      for (const auto& o : e->options)
        out << "| `" << o.name << "` | " << o.type << " | `" << o.default_value << "` | " << o.rule << " | " << o.doc << " |\n";
      out << "\n";
    }
  });
  return out.str();
}

}  // namespace nmlab
