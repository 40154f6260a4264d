#include "framework/io/spec.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/core/sha256.hpp"
#include "framework/io/tensor_file.hpp"
#include "framework/solvers/transposable.hpp"

namespace nmlab {
namespace {

constexpr size_t kMaxTrials = 200000;

const std::vector<std::string> kTopLevelKeys = {"name",    "description", "task",    "problem",
                                                "pattern", "solver",      "seeds",   "base_seed",
                                                "outputs", "report",      "backend", "transposable_method"};
// Keys whose lists are not sweep axes (they are read once for the whole run).
const std::set<std::string> kGlobalKeys = {"name",   "description", "outputs",            "report",
                                           "backend", "base_seed",  "transposable_method"};

std::string where_of(const std::string& file, const YAML::Mark& mark) {
  if (mark.line < 0) return file;
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

SpecNode convert(const YAML::Node& y, const std::string& file) {
  SpecNode n;
  n.where = where_of(file, y.Mark());
  switch (y.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: n.kind = SpecNode::Kind::null; break;
    case YAML::NodeType::Scalar:
      n.kind = SpecNode::Kind::scalar;
      n.scalar = y.Scalar();
      break;
    case YAML::NodeType::Sequence:
      n.kind = SpecNode::Kind::seq;
      for (const auto& item : y) n.children.push_back(convert(item, file));
      break;
    case YAML::NodeType::Map:
      n.kind = SpecNode::Kind::map;
      for (auto it = y.begin(); it != y.end(); ++it) {
        const std::string key = it->first.Scalar();
        if (std::find(n.keys.begin(), n.keys.end(), key) != n.keys.end())
          throw SpecError(where_of(file, it->first.Mark()), "key '" + key + "' appears twice in this map");
        n.keys.push_back(key);
        n.key_where.push_back(where_of(file, it->first.Mark()));
        n.children.push_back(convert(it->second, file));
      }
      break;
  }
  return n;
}

// ---- sweep expansion: every sequence is an axis --------------------------------------------------
struct Expanded {
  SpecNode node;
  std::vector<std::pair<std::string, std::string>> axes;  // path -> chosen scalar value
};

std::vector<Expanded> expand(const SpecNode& n, const std::string& path, bool top = false) {
  if (n.is_seq()) {
    if (n.children.empty()) throw SpecError(n.where, path + ": an empty list; a sweep axis needs at least one value");
    std::vector<Expanded> out;
    for (const auto& item : n.children)
      for (auto& e : expand(item, path)) {
        if (item.is_scalar()) e.axes.insert(e.axes.begin(), {path, item.scalar});
        out.push_back(std::move(e));
      }
    return out;
  }
  if (!n.is_map()) return {Expanded{n, {}}};
  std::vector<Expanded> partial = {Expanded{n, {}}};
  for (size_t i = 0; i < n.keys.size(); ++i) {
    if (top && kGlobalKeys.count(n.keys[i])) continue;
    const auto options = expand(n.children[i], path.empty() ? n.keys[i] : path + "." + n.keys[i]);
    std::vector<Expanded> next;
    next.reserve(partial.size() * options.size());
    for (const auto& p : partial)
      for (const auto& o : options) {
        Expanded e = p;
        e.node.children[i] = o.node;
        e.axes.insert(e.axes.end(), o.axes.begin(), o.axes.end());
        next.push_back(std::move(e));
        if (next.size() > kMaxTrials)
          throw SpecError(n.where, "the sweep expands to more than " + std::to_string(kMaxTrials) +
                                       " trials: shorten some lists");
      }
    partial = std::move(next);
  }
  return partial;
}

/// `layer_file` problems whose `tensor` is a glob ("layers.*.weight") become a sweep over the matching
/// tensor names of their `weights` file, so one spec covers every layer of a model.
void expand_tensor_globs(SpecNode& n) {
  for (auto& c : n.children) expand_tensor_globs(c);
  if (!n.is_map()) return;
  const SpecNode* name = n.find("name");
  if (!name || !name->is_scalar() || name->scalar != "layer_file") return;
  for (size_t i = 0; i < n.keys.size(); ++i) {
    SpecNode& tensor = n.children[i];
    if (n.keys[i] != "tensor" || !tensor.is_scalar() || !is_tensor_glob(tensor.scalar)) continue;
    const SpecNode* weights = n.find("weights");
    if (!weights || !weights->is_scalar())
      throw SpecError(tensor.where, "a tensor glob needs a single `weights:` file to match against");
    std::vector<std::string> names;
    try {
      names = expand_tensor_glob(weights->scalar, tensor.scalar);
    } catch (const Error& e) {
      throw SpecError(tensor.where, e.what());
    }
    SpecNode list;
    list.kind = SpecNode::Kind::seq;
    list.where = tensor.where;
    for (const auto& t : names) {
      SpecNode item = tensor;
      item.scalar = t;
      list.children.push_back(item);
    }
    tensor = std::move(list);
  }
}

// ---- strict readers -------------------------------------------------------------------------------
void require_map(const SpecNode& n, const std::string& what, const std::string& example) {
  if (!n.is_map()) throw SpecError(n.where, what + " must be a map, for example " + example);
}

void check_keys(const SpecNode& n, const std::vector<std::string>& allowed, const std::string& what) {
  for (size_t i = 0; i < n.keys.size(); ++i)
    if (std::find(allowed.begin(), allowed.end(), n.keys[i]) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw SpecError(n.key_where[i], "unknown key '" + n.keys[i] + "' in " + what + "; allowed: " + list);
    }
}

std::string scalar_of(const SpecNode& n, const std::string& what) {
  if (n.is_scalar()) return n.scalar;
  if (n.kind == SpecNode::Kind::null) throw SpecError(n.where, what + " has no value");
  throw SpecError(n.where, what + " must be a single value here, not a " + (n.is_map() ? "map" : "list"));
}

template <class T>
T typed(const SpecNode& n, const std::string& what) {
  T v{};
  from_text(scalar_of(n, what), v, n.where, what);
  return v;
}

/// {name: foo, k: v, ...} or the bare string foo. Keys in `reserved` are skipped (read by the caller).
Component read_component(const SpecNode& n, const std::string& what, const std::set<std::string>& reserved = {}) {
  Component c;
  c.params = Params(n.where);
  if (n.is_scalar()) {
    c.name = n.scalar;
    return c;
  }
  require_map(n, what, "{name: ...}");
  const SpecNode* name = n.find("name");
  if (!name) throw SpecError(n.where, what + " needs a `name:` (see `nmlab list`)");
  c.name = scalar_of(*name, what + ".name");
  for (size_t i = 0; i < n.keys.size(); ++i) {
    if (n.keys[i] == "name" || reserved.count(n.keys[i])) continue;
    const SpecNode& v = n.children[i];
    c.params.set(n.keys[i], scalar_of(v, what + "." + n.keys[i]), v.is_scalar() ? v.where : n.key_where[i]);
  }
  return c;
}

NMPattern read_pattern(const SpecNode& n) {
  require_map(n, "pattern", "{n: 2, m: 4}");
  check_keys(n, {"n", "m", "transposable"}, "pattern");
  NMPattern p;
  const SpecNode *pn = n.find("n"), *pm = n.find("m"), *pt = n.find("transposable");
  if (!pn || !pm) throw SpecError(n.where, "pattern needs both n and m, for example {n: 2, m: 4}");
  p.n = typed<int>(*pn, "pattern.n");
  p.m = typed<int>(*pm, "pattern.m");
  if (pt) p.transposable = typed<bool>(*pt, "pattern.transposable");
  p.validate(n.where);
  return p;
}

std::string label_options(const Component& c, const std::set<std::string>& varying) {
  std::string out;
  for (const auto& [k, e] : c.params.entries())
    if (varying.count(k)) out += (out.empty() ? "" : ",") + k + "=" + e.value;
  return out.empty() ? c.name : c.name + "[" + out + "]";
}

/// Labels show a solver's (and update's) options only where they vary between trials of that name.
void assign_labels(std::vector<TrialInputs>& trials) {
  std::map<std::string, std::map<std::string, std::set<std::string>>> solver_values, update_values;
  for (const auto& t : trials) {
    if (!t.solver) continue;
    for (const auto& [k, e] : t.solver->solver.params.entries()) solver_values[t.solver->solver.name][k].insert(e.value);
    for (const auto& [k, e] : t.solver->update.params.entries()) update_values[t.solver->update.name][k].insert(e.value);
  }
  auto varying = [](const std::map<std::string, std::set<std::string>>& values) {
    std::set<std::string> out;
    for (const auto& [k, vs] : values)
      if (vs.size() > 1) out.insert(k);
    return out;
  };
  for (auto& t : trials) {
    if (!t.solver) continue;
    auto& s = *t.solver;
    s.label = label_options(s.solver, varying(solver_values[s.solver.name]));
    if (s.update.name != "none") s.label += "+" + label_options(s.update, varying(update_values[s.update.name]));
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot read spec file '" + path + "': check the path");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void emit(const SpecNode& n, std::string& out) {
  switch (n.kind) {
    case SpecNode::Kind::null: out += "null"; break;
    case SpecNode::Kind::scalar: {
      YAML::Emitter e;
      e << n.scalar;  // quotes only where YAML needs it
      out += e.c_str();
      break;
    }
    case SpecNode::Kind::seq:
      out += "[";
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i) out += ", ";
        emit(n.children[i], out);
      }
      out += "]";
      break;
    case SpecNode::Kind::map:
      out += "{";
      for (size_t i = 0; i < n.keys.size(); ++i) {
        if (i) out += ", ";
        out += n.keys[i] + ": ";
        emit(n.children[i], out);
      }
      out += "}";
      break;
  }
}

}  // namespace

const std::vector<std::string>& spec_top_level_keys() { return kTopLevelKeys; }

const SpecNode* SpecNode::find(const std::string& key) const {
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == key) return &children[i];
  return nullptr;
}

SpecNode parse_yaml(const std::string& text, const std::string& file) {
  try {
    return convert(YAML::Load(text), file);
  } catch (const YAML::ParserException& e) {
    throw SpecError(where_of(file, e.mark), "YAML syntax error: " + e.msg);
  }
}

std::string to_yaml(const SpecNode& node) {
  if (!node.is_map()) {
    std::string out;
    emit(node, out);
    return out;
  }
  std::string out;  // top level: one key per line, values in flow style
  for (size_t i = 0; i < node.keys.size(); ++i) {
    out += node.keys[i] + ": ";
    emit(node.children[i], out);
    out += "\n";
  }
  return out;
}

void apply_override(SpecNode& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  const std::string where = "--set " + assignment;
  if (eq == std::string::npos || eq == 0)
    throw SpecError(where, "expected key.path=value, for example --set problem.rho=0.3");
  const std::string path = assignment.substr(0, eq);
  SpecNode value = parse_yaml(assignment.substr(eq + 1), "--set " + path);
  std::function<void(SpecNode&)> relabel = [&](SpecNode& n) {
    n.where = where;
    for (auto& w : n.key_where) w = where;
    for (auto& c : n.children) relabel(c);
  };
  relabel(value);
  SpecNode* node = &root;
  std::stringstream ss(path);
  std::string part;
  std::vector<std::string> parts;
  while (std::getline(ss, part, '.')) parts.push_back(part);
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    if (node->is_seq()) {
      size_t idx = 0;
      try { idx = std::stoul(parts[i]); } catch (...) { idx = node->children.size(); }
      if (idx >= node->children.size())
        throw SpecError(where, "'" + parts[i] + "' is not an index of the list at " + node->where + " (0.." +
                                   std::to_string(node->children.size() - 1) + ")");
      node = &node->children[idx];
    } else {
      if (node->kind == SpecNode::Kind::null) node->kind = SpecNode::Kind::map;
      if (!node->is_map()) throw SpecError(where, "'" + parts[i] + "' addresses into a scalar at " + node->where);
      SpecNode* child = nullptr;
      for (size_t k = 0; k < node->keys.size(); ++k)
        if (node->keys[k] == parts[i]) child = &node->children[k];
      if (!child) {
        node->keys.push_back(parts[i]);
        node->key_where.push_back(where);
        node->children.push_back(SpecNode{});
        child = &node->children.back();
        child->where = where;
      }
      node = child;
    }
    if (last) *node = value;
  }
}

Spec load_spec(const std::string& path, const std::vector<std::string>& overrides) {
  return load_spec_text(read_text(path), path, overrides);
}

Spec load_spec_text(const std::string& text, const std::string& file, const std::vector<std::string>& overrides) {
  SpecNode root = parse_yaml(text, file);
  if (!root.is_map()) throw SpecError(root.where, "a spec must be a map with at least `name:` (see docs/SPEC.md)");
  for (const auto& o : overrides) apply_override(root, o);
  check_keys(root, kTopLevelKeys, "the spec");
  for (size_t i = 0; i < root.keys.size(); ++i)
    if (root.keys[i] == "problem") expand_tensor_globs(root.children[i]);

  Spec spec;
  spec.file = file;
  spec.resolved_yaml = to_yaml(root);
  const SpecNode* name = root.find("name");
  if (!name) throw SpecError(root.where, "the spec needs a `name:` (results go to <out>/<name>/)");
  spec.name = scalar_of(*name, "name");
  if (spec.name.empty() || spec.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
    throw SpecError(name->where, "name '" + spec.name + "' must use only a-z, 0-9, '_' and '-' (it names a folder)");
  if (const SpecNode* d = root.find("description")) spec.description = scalar_of(*d, "description");
  if (const SpecNode* s = root.find("base_seed")) spec.base_seed = typed<long>(*s, "base_seed");
  if (const SpecNode* b = root.find("backend")) {
    spec.backend = scalar_of(*b, "backend");
    check_rule(rule::one_of({"cpu", "cuda", "auto"}), spec.backend, b->where, "backend");
  }
  if (const SpecNode* t = root.find("transposable_method")) {
    spec.transposable_method = scalar_of(*t, "transposable_method");
    check_transposable_method(spec.transposable_method, t->where);
  }
  if (const SpecNode* o = root.find("outputs")) {
    require_map(*o, "outputs", "{save_masks: true}");
    check_keys(*o, {"save_masks"}, "outputs");
    if (const SpecNode* m = o->find("save_masks")) spec.save_masks = typed<bool>(*m, "outputs.save_masks");
  }
  if (const SpecNode* r = root.find("report")) {
    require_map(*r, "report", "{baseline: exhaustive, x: problem.rho}");
    check_keys(*r, {"baseline", "x"}, "report");
    if (const SpecNode* b = r->find("baseline")) spec.report.baseline = scalar_of(*b, "report.baseline");
    if (const SpecNode* x = r->find("x")) spec.report.x = scalar_of(*x, "report.x");
  }

  for (auto& e : expand(root, "", /*top=*/true)) {
    const SpecNode& n = e.node;
    TrialInputs t;
    t.task = Component{"layer", Params(n.where)};
    if (const SpecNode* task = n.find("task")) t.task = read_component(*task, "task");
    if (const SpecNode* p = n.find("problem")) t.problem = read_component(*p, "problem");
    if (const SpecNode* p = n.find("pattern")) t.pattern = read_pattern(*p);
    if (const SpecNode* s = n.find("solver")) {
      SolverChoice choice;
      choice.solver = read_component(*s, "solver", {"update", "pattern"});
      choice.update = Component{"none", Params(s->where)};
      if (s->is_map()) {
        if (const SpecNode* u = s->find("update")) choice.update = read_component(*u, "solver.update");
        if (const SpecNode* p = s->find("pattern")) t.pattern = read_pattern(*p);  // per-solver pattern wins
      }
      t.solver = choice;
    }
    if (const SpecNode* s = n.find("seeds")) t.seed = typed<long>(*s, "seeds");
    SpecNode identity = n;  // identity of a trial: everything that changes its numbers
    for (const char* k : {"name", "description", "outputs", "report"})
      for (size_t i = 0; i < identity.keys.size(); ++i)
        if (identity.keys[i] == k) {
          identity.keys.erase(identity.keys.begin() + long(i));
          identity.key_where.erase(identity.key_where.begin() + long(i));
          identity.children.erase(identity.children.begin() + long(i));
          break;
        }
    t.resolved_yaml = to_yaml(identity);
    t.key = sha256_hex(t.resolved_yaml).substr(0, 16);
    for (auto& [k, v] : e.axes) t.axes[k] = v;
    spec.trials.push_back(std::move(t));
  }

  // Trials sharing a problem and seed run back to back (the layer task reuses the problem).
  std::stable_sort(spec.trials.begin(), spec.trials.end(), [](const TrialInputs& a, const TrialInputs& b) {
    auto key = [](const TrialInputs& t) {
      std::string k = t.task.name + "|";
      if (t.problem) {
        k += t.problem->name;
        for (const auto& [pk, pe] : t.problem->params.entries()) k += "|" + pk + "=" + pe.value;
      }
      return k;
    };
    const auto ka = key(a), kb = key(b);
    return ka != kb ? ka < kb : a.seed < b.seed;
  });
  std::set<std::string> seen;
  for (size_t i = 0; i < spec.trials.size(); ++i) {
    spec.trials[i].index = long(i);
    if (!seen.insert(spec.trials[i].key).second)
      throw SpecError(spec.file, "two trials are identical (" + spec.trials[i].resolved_yaml +
                                     "): remove the duplicate list entry");
  }
  assign_labels(spec.trials);
  return spec;
}

void validate_spec(const Spec& spec) {
  const auto& reg = builtins();
  std::set<std::string> checked;
  for (const auto& t : spec.trials) {
    // Trials differing only in seed validate identically.
    std::string k = t.resolved_yaml;
    if (auto pos = k.find("seeds:"); pos != std::string::npos) k.erase(pos, k.find('\n', pos) - pos);
    if (!checked.insert(k).second) continue;
    reg.tasks.make(t.task.name, t.task.params)->validate(t);
  }
}

}  // namespace nmlab
