#include "framework/io/results.hpp"

#include <H5Cpp.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>

#include "framework/core/errors.hpp"
#include "framework/kernels/device.hpp"

#ifndef NMLAB_VERSION
#define NMLAB_VERSION "unknown"
#define NMLAB_COMPILER "unknown"
#define NMLAB_BUILD_TYPE "unknown"
#define NMLAB_CUDA_VERSION "unknown"
#define NMLAB_SOURCE_DIR "."
#endif

namespace nmlab {
namespace fs = std::filesystem;
namespace {

const H5::StrType& vlen_string() {
  static const H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  return type;
}

void write_attr(H5::H5Object& obj, const std::string& name, const std::string& value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  H5::Attribute a = obj.createAttribute(name, vlen_string(), H5::DataSpace(H5S_SCALAR));
  const char* p = value.c_str();
  a.write(vlen_string(), &p);
}

std::string read_attr(const H5::H5Object& obj, const std::string& name) {
  if (!obj.attrExists(name)) return "";
  H5::Attribute a = obj.openAttribute(name);
  std::string out;
  a.read(a.getStrType(), out);
  return out;
}

// ---- /summary columns ------------------------------------------------------------------------------
enum class ColumnType { f64, i64, str };

hsize_t column_length(H5::Group& g, const std::string& name) {
  H5::DataSet ds = g.openDataSet(name);
  hsize_t n = 0;
  ds.getSpace().getSimpleExtentDims(&n);
  return n;
}

H5::DataSet create_column(H5::Group& g, const std::string& name, ColumnType type) {
  const hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = 256;
  H5::DataSpace space(1, &zero, &unlimited);
  H5::DSetCreatPropList props;
  props.setChunk(1, &chunk);
  switch (type) {
    case ColumnType::f64: return g.createDataSet(name, H5::PredType::NATIVE_DOUBLE, space, props);
    case ColumnType::i64: return g.createDataSet(name, H5::PredType::NATIVE_INT64, space, props);
    case ColumnType::str: return g.createDataSet(name, vlen_string(), space, props);
  }
  NMLAB_ASSERT(false, "unknown column type");
  return {};
}

/// Extends column `name` to `rows` + 1 entries: fills rows [len, rows) with the type's missing value
/// and writes `value` (text for strings, parsed for numbers) at index `rows`.
void append_cell(H5::Group& g, const std::string& name, ColumnType type, hsize_t rows, const std::string* text,
                 double number) {
  H5::DataSet ds = g.nameExists(name) ? g.openDataSet(name) : create_column(g, name, type);
  hsize_t len = 0;
  ds.getSpace().getSimpleExtentDims(&len);
  const hsize_t new_len = rows + 1;
  ds.extend(&new_len);
  const hsize_t count = new_len - len;
  H5::DataSpace file_space = ds.getSpace();
  file_space.selectHyperslab(H5S_SELECT_SET, &count, &len);
  H5::DataSpace mem_space(1, &count);
  const H5T_class_t cls = ds.getDataType().getClass();
  if (cls == H5T_STRING) {
    std::vector<std::string> values(count, "");
    if (text) values.back() = *text;
    else if (!std::isnan(number)) values.back() = std::to_string(number);
    std::vector<const char*> ptrs;
    for (auto& v : values) ptrs.push_back(v.c_str());
    ds.write(ptrs.data(), vlen_string(), mem_space, file_space);
  } else if (cls == H5T_INTEGER) {
    std::vector<std::int64_t> values(count, -1);
    if (text) values.back() = std::stoll(*text);
    else if (!std::isnan(number)) values.back() = std::int64_t(number);
    ds.write(values.data(), H5::PredType::NATIVE_INT64, mem_space, file_space);
  } else {
    std::vector<double> values(count, std::numeric_limits<double>::quiet_NaN());
    values.back() = text ? std::stod(*text) : number;
    ds.write(values.data(), H5::PredType::NATIVE_DOUBLE, mem_space, file_space);
  }
}

std::string pad_index(long i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%06ld", i);
  return buf;
}

std::string run_command(const std::string& cmd) {
  std::array<char, 256> buf{};
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "";
  while (fgets(buf.data(), int(buf.size()), p)) out += buf.data();
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

/// Runs `write(file)` on a copy of `path`, then renames the copy over `path`.
template <class F>
void atomic_update(const std::string& path, F&& write) {
  const std::string tmp = path + ".partial";
  std::error_code ec;
  fs::copy_file(path, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) throw IoError("cannot copy results file '" + path + "' to '" + tmp + "': " + ec.message());
  try {
    H5::H5File f(tmp, H5F_ACC_RDWR);
    write(f);
    f.flush(H5F_SCOPE_GLOBAL);
    f.close();
  } catch (const H5::Exception& e) {
    fs::remove(tmp, ec);
    throw IoError("writing results to '" + path + "' failed: " + e.getDetailMsg());
  }
  fs::rename(tmp, path, ec);
  if (ec) throw IoError("cannot replace results file '" + path + "': " + ec.message());
}

}  // namespace

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

RunInfo collect_run_info() {
  RunInfo info;
  auto& a = info.attributes;
  const std::string src = NMLAB_SOURCE_DIR;
  const std::string commit = run_command("git -C '" + src + "' rev-parse HEAD 2>/dev/null");
  a["git_commit"] = commit.empty() ? "unknown" : commit;
  a["git_dirty"] = commit.empty() ? "unknown"
                                  : (run_command("git -C '" + src + "' status --porcelain --untracked-files=no 2>/dev/null").empty()
                                         ? "false"
                                         : "true");
  a["compiler"] = NMLAB_COMPILER;
  a["build_type"] = NMLAB_BUILD_TYPE;
  a["cuda_version"] = NMLAB_CUDA_VERSION;
  a["device"] = device_info().description;
  a["nmlab_version"] = NMLAB_VERSION;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  a["hostname"] = host;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      a["cpu"] = line.substr(line.find(':') + 2);
      break;
    }
  a["schema_version"] = std::to_string(kSchemaVersion);
  return info;
}

ResultsFile ResultsFile::create(const std::string& path, const RunInfo& info) {
  H5::Exception::dontPrint();  // errors become IoError messages instead of HDF5's stack dump
  if (fs::exists(path)) throw IoError("results file '" + path + "' already exists: use --resume or a new --out");
  fs::create_directories(fs::path(path).parent_path());
  const std::string tmp = path + ".partial";
  try {
    H5::H5File f(tmp, H5F_ACC_TRUNC);
    for (const auto& [k, v] : info.attributes) write_attr(f, k, v);
    f.createGroup("/trials");
    f.createGroup("/summary");
    f.close();
  } catch (const H5::Exception& e) {
    throw IoError("cannot create results file '" + path + "': " + e.getDetailMsg());
  }
  fs::rename(tmp, path);
  return ResultsFile(path);
}

ResultsFile ResultsFile::open(const std::string& path) {
  H5::Exception::dontPrint();
  if (!fs::exists(path)) throw IoError("results file '" + path + "' does not exist");
  try {
    H5::H5File f(path, H5F_ACC_RDONLY);
    if (!f.nameExists("/summary") || read_attr(f, "schema_version").empty())
      throw IoError("'" + path + "' is not an nmlab results file (no /summary or schema_version)");
  } catch (const H5::Exception& e) {
    throw IoError("cannot open results file '" + path + "': " + e.getDetailMsg());
  }
  return ResultsFile(path);
}

std::string ResultsFile::attribute(const std::string& name) const {
  H5::H5File f(path_, H5F_ACC_RDONLY);
  return read_attr(f, name);
}

std::set<std::string> ResultsFile::finished_keys() const {
  std::set<std::string> keys;
  H5::H5File f(path_, H5F_ACC_RDONLY);
  H5::Group trials = f.openGroup("/trials");
  for (hsize_t i = 0; i < trials.getNumObjs(); ++i) {
    H5::Group g = trials.openGroup(trials.getObjnameByIdx(i));
    keys.insert(read_attr(g, "key"));
  }
  return keys;
}

void ResultsFile::set_attribute(const std::string& name, const std::string& value) {
  atomic_update(path_, [&](H5::H5File& f) { write_attr(f, name, value); });
}

void ResultsFile::append(const TrialInputs& t, const TrialRecord& rec, bool save_mask) {
  // Identity columns and attributes shared by /trials/<i> and /summary.
  std::map<std::string, std::string> ids;
  ids["key"] = t.key;
  ids["task"] = t.task.name;
  for (const auto& [k, e] : t.task.params.entries()) ids["task." + k] = e.value;
  if (t.problem) {
    ids["problem"] = t.problem->name;
    for (const auto& [k, e] : t.problem->params.entries()) ids["problem." + k] = e.value;
  }
  if (t.solver) {
    ids["solver"] = t.solver->label;
    ids["solver_name"] = t.solver->solver.name;
    ids["update"] = t.solver->update.name;
  }
  if (t.pattern) ids["pattern"] = t.pattern->str();
  for (const auto& [k, v] : rec.labels) ids[k] = v;

  atomic_update(path_, [&](H5::H5File& f) {
    H5::Group trials = f.openGroup("/trials");
    const std::string name = pad_index(t.index);
    if (trials.nameExists(name)) trials.unlink(name);  // a stale group from an interrupted older run
    H5::Group g = trials.createGroup(name);
    for (const auto& [k, v] : ids) write_attr(g, k, v);
    write_attr(g, "seed", std::to_string(t.seed));
    write_attr(g, "trial_yaml", t.resolved_yaml);
    for (const auto& [k, v] : rec.attributes) write_attr(g, k, v);
    if (!rec.traces.empty()) {
      H5::Group tg = g.createGroup("traces");
      for (const auto& [k, v] : rec.traces) {
        const hsize_t n = v.size();
        H5::DataSet ds = tg.createDataSet(k, H5::PredType::NATIVE_DOUBLE, H5::DataSpace(1, &n));
        if (n) ds.write(v.data(), H5::PredType::NATIVE_DOUBLE);
      }
    }
    if (save_mask && rec.mask) {
      const auto packed = rec.mask->pack();
      const hsize_t dims[2] = {hsize_t(rec.mask->rows()), hsize_t((rec.mask->cols() + 7) / 8)};
      H5::DataSet ds = g.createDataSet("mask_packed", H5::PredType::NATIVE_UINT8, H5::DataSpace(2, dims));
      if (!packed.empty()) ds.write(packed.data(), H5::PredType::NATIVE_UINT8);
      write_attr(ds, "layout", "row-major bits, LSB first, " + std::to_string(rec.mask->cols()) + " columns");
    }
    for (const auto& [k, v] : rec.scalars) {
      H5::Attribute a = g.createAttribute(k, H5::PredType::NATIVE_DOUBLE, H5::DataSpace(H5S_SCALAR));
      a.write(H5::PredType::NATIVE_DOUBLE, &v);
    }

    // /summary: one more row in every column (missing values for columns this trial lacks).
    H5::Group s = f.openGroup("/summary");
    const hsize_t rows = s.nameExists("trial") ? column_length(s, "trial") : 0;
    const std::string index_text = std::to_string(t.index), seed_text = std::to_string(t.seed);
    append_cell(s, "trial", ColumnType::i64, rows, &index_text, 0);
    append_cell(s, "seed", ColumnType::i64, rows, &seed_text, 0);
    for (const auto& [k, v] : ids) append_cell(s, k, ColumnType::str, rows, &v, 0);
    for (const auto& [k, v] : rec.scalars) append_cell(s, k, ColumnType::f64, rows, nullptr, v);
    for (hsize_t i = 0; i < s.getNumObjs(); ++i) {  // pad columns this trial did not mention
      const std::string col = s.getObjnameByIdx(i);
      if (column_length(s, col) == rows) append_cell(s, col, ColumnType::f64, rows, nullptr, std::nan(""));
    }
  });
}

}  // namespace nmlab
