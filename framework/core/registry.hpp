#pragma once
// Registry<Interface>: name -> (summary, option docs, factory). Registration is explicit (no static
// self-registration objects, which the linker drops from static libraries). A duplicate name is a
// programming error (std::logic_error); an unknown name is a SpecError listing the known names.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/core/options.hpp"

namespace nmlab {

template <class Interface>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<Interface>(const Params&)>;
  struct Entry {
    std::string name;      ///< lower_snake_case key used in YAML, HDF5 and plot legends
    std::string summary;   ///< one line for `nmlab list`
    std::vector<OptionDoc> options;
    Factory make;
  };

  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  /// Registers Impl, which must define `using Options = ...` and a constructor Impl(Options).
  template <class Impl>
  void add(const std::string& name, const std::string& summary) {
    const std::string context = kind_ + " '" + name + "'";
    add(Entry{name, summary, describe_options<typename Impl::Options>(), [context](const Params& p) {
                return std::unique_ptr<Interface>(
                    std::make_unique<Impl>(parse_options<typename Impl::Options>(p, context)));
              }});
  }

  void add(Entry e) {
    if (entries_.count(e.name)) throw std::logic_error(kind_ + " '" + e.name + "' is registered twice");
    std::string key = e.name;
    entries_.emplace(std::move(key), std::move(e));
  }

  bool contains(const std::string& name) const { return entries_.count(name) != 0; }

  const Entry& at(const std::string& name, const std::string& where = "") const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      std::string known;
      for (const auto& [k, _] : entries_) known += (known.empty() ? "" : ", ") + k;
      throw SpecError(where, "unknown " + kind_ + " '" + name + "'; known: " + known);
    }
    return it->second;
  }

  std::unique_ptr<Interface> make(const std::string& name, const Params& p) const { return at(name, p.where()).make(p); }

  /// Entries sorted by name.
  std::vector<const Entry*> entries() const {
    std::vector<const Entry*> out;
    for (const auto& [_, e] : entries_) out.push_back(&e);
    return out;
  }
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  std::map<std::string, Entry> entries_;
};

}  // namespace nmlab
