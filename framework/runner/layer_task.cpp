// The `layer` task: build the problem, run the mask solver, apply the weight update, measure.
#include <mutex>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/core/timer.hpp"

namespace nmlab {
namespace {

struct LayerTaskOptions {
  template <class V> void visit(V&) {}
};

class LayerTask final : public Task {
 public:
  using Options = LayerTaskOptions;
  explicit LayerTask(Options) {}

  void validate(const TrialInputs& t) const override {
    if (!t.problem) throw SpecError("", "the layer task needs a `problem:` block (see `nmlab list problems`)");
    t.require_solver("layer");
    const auto& reg = builtins();
    const auto gen = reg.problems.make(t.problem->name, t.problem->params);
    std::pair<Index, Index> shape;
    try {
      shape = gen->shape();  // layer files: reads headers only
    } catch (const Error& e) {
      const auto* located = dynamic_cast<const SpecError*>(&e);
      if (located && !located->where().empty()) throw;
      throw SpecError(t.problem->params.where(), "problem '" + t.problem->name + "': " + e.what());
    }
    const auto [d_out, d_in] = shape;
    const NMPattern& p = t.require_pattern("layer");
    const auto solver = reg.solvers.make(t.solver->solver.name, t.solver->solver.params);  // located errors
    try {
      p.check_shape(d_out, d_in);
      solver->check_supported(p, d_out, d_in);
    } catch (const Error& e) {
      // Shape and support errors: point at the solver entry and say which problem it met.
      const auto* located = dynamic_cast<const SpecError*>(&e);
      if (located && !located->where().empty()) throw;
      throw SpecError(t.solver->solver.params.where(), std::string(e.what()) + " (problem " + t.problem->name +
                                                           " is " + std::to_string(d_out) + " x " +
                                                           std::to_string(d_in) + ")");
    }
    reg.updates.make(t.solver->update.name, t.solver->update.params);
  }

  TrialRecord run(const TrialInputs& t, Context& ctx) const override {
    const auto& reg = builtins();
    const NMPattern& p = t.require_pattern("layer");
    const LayerProblem& prob = problem_for(t, ctx);
    const auto solver = reg.solvers.make(t.solver->solver.name, t.solver->solver.params);
    const auto update = reg.updates.make(t.solver->update.name, t.solver->update.params);

    SolveResult res = solver->solve(prob, p, ctx);
    TrialRecord rec;
    if (auto bad = res.mask.violation(p)) {
      // A solver bug must not become a result: record it as failed, with the reason.
      res.summary.termination = Termination::failed;
      res.summary.message = "invalid mask: " + *bad;
    }
    // W after the solver (its own update, or W0 ⊙ mask), then the weight update on the fixed mask.
    const Weights W_solver = res.W ? res.mask.apply(*res.W) : res.mask.apply(prob.W0);
    Stopwatch update_clock;
    const Weights W_final = update->apply(prob, res.mask, W_solver);
    const double time_update = update_clock.seconds();

    rec.scalars["rel_error_before_update"] = prob.relative_error(W_solver);
    rec.scalars["rel_error"] = prob.relative_error(W_final);
    rec.scalars["time_setup_s"] = res.summary.time_setup_s;
    rec.scalars["time_solve_s"] = res.summary.time_solve_s;
    rec.scalars["time_update_s"] = time_update;
    rec.scalars["iterations"] = double(res.summary.iterations);
    rec.scalars["objective_initial"] = res.summary.objective_initial;
    rec.scalars["objective_final"] = res.summary.objective_final;
    rec.scalars["density"] = double(res.mask.count()) / double(res.mask.bits().size());
    for (const auto& [k, v] : res.metrics) rec.scalars[k] = v;
    rec.labels["termination"] = to_string(res.summary.termination);
    rec.labels["backend_requested"] = ctx.backend;
    rec.labels["backend_used"] = res.summary.backend_used.empty() ? "cpu" : res.summary.backend_used;
    rec.attributes["message"] = res.summary.message;
    rec.attributes["threads_used"] = std::to_string(res.summary.threads_used);
    for (const auto& [k, v] : solver->options()) rec.attributes["solver." + k] = v;
    for (const auto& [k, v] : update->options()) rec.attributes["update." + k] = v;
    rec.traces = std::move(res.traces);
    rec.mask = std::move(res.mask);
    return rec;
  }

 private:
  /// Problems are deterministic in (problem spec, seed); solvers of one sweep share the last one built.
  const LayerProblem& problem_for(const TrialInputs& t, Context& ctx) const {
    std::string key = t.problem->name + "|" + std::to_string(t.seed);
    for (const auto& [k, e] : t.problem->params.entries()) key += "|" + k + "=" + e.value;
    std::lock_guard<std::mutex> lock(mutex_);
    if (key != cached_key_) {
      const auto gen = builtins().problems.make(t.problem->name, t.problem->params);
      RngStream rng = ctx.rng.derive("problem");
      cached_ = gen->make(rng);
      cached_key_ = key;
    }
    return cached_;
  }

  mutable std::mutex mutex_;
  mutable std::string cached_key_;
  mutable LayerProblem cached_;
};

}  // namespace

void register_layer_task(Registry<Task>& r) {
  r.add<LayerTask>("layer", "one layer-reconstruction problem: problem -> solver -> weight update -> rel_error");
}

}  // namespace nmlab
