#include "framework/io/tensor_file.hpp"

#include <fnmatch.h>
#include <unistd.h>
#include <zlib.h>

#include <H5Cpp.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include "framework/core/errors.hpp"

namespace nmlab {

static_assert(std::endian::native == std::endian::little, "tensor files are little-endian; add byte swaps here");

namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // safetensors' own limit on the JSON header
constexpr int kMaxJsonDepth = 64;                       // deeper nesting is not a tensor header

[[noreturn]] void io_fail(const std::string& path, const std::string& what) { throw IoError(path + ": " + what); }
[[noreturn]] void tensor_fail(const std::string& path, const std::string& name, const std::string& what) {
  throw TensorError(path + ": tensor '" + name + "': " + what);
}

// ---- a file read by (offset, length), never past its end --------------------------------------------
class InFile {
 public:
  explicit InFile(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    if (!fs::exists(path_, ec)) io_fail(path_, "no such file");
    if (fs::is_directory(path_, ec)) io_fail(path_, "is a directory, not a tensor file");
    size_ = std::uint64_t(fs::file_size(path_, ec));
    if (ec) io_fail(path_, "cannot read its size: " + ec.message());
    in_.open(path_, std::ios::binary);
    if (!in_) io_fail(path_, "cannot open for reading");
  }
  std::uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  /// Reads [offset, offset + n); IoError naming `what` if the file ends before.
  void read(std::uint64_t offset, std::uint64_t n, void* out, const std::string& what) {
    if (offset > size_ || n > size_ - offset)
      io_fail(path_, "truncated: " + what + " needs bytes [" + std::to_string(offset) + ", " +
                         std::to_string(offset + n) + ") but the file has " + std::to_string(size_) + " bytes");
    in_.seekg(std::streamoff(offset));
    in_.read(static_cast<char*>(out), std::streamsize(n));
    if (!in_) io_fail(path_, "read error in " + what);
  }
  std::string read_string(std::uint64_t offset, std::uint64_t n, const std::string& what) {
    std::string s(n, '\0');
    read(offset, n, s.data(), what);
    return s;
  }

 private:
  std::string path_;
  std::uint64_t size_ = 0;
  std::ifstream in_;
};

template <class T>
T load_le(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// ---- half precision --------------------------------------------------------------------------------
// IEEE binary16: sign(1) exponent(5) mantissa(10); value = (−1)^s · 2^(e−15) · 1.m, subnormal 2^−14 · 0.m.
double half_to_double(std::uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  double v;
  if (e == 0) v = std::ldexp(double(m), -24);
  else if (e == 31) v = m ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else v = std::ldexp(double(m | 0x400), e - 25);
  return s ? -v : v;
}
// bfloat16: the upper 16 bits of a binary32.
double bf16_to_double(std::uint16_t h) { return double(std::bit_cast<float>(std::uint32_t(h) << 16)); }

/// Converts `n` little-endian elements of `d` at `p` to double.
void decode(DType d, const unsigned char* p, std::int64_t n, double* out) {
  const std::size_t sz = dtype_size(d);
  for (std::int64_t i = 0; i < n; ++i, p += sz) {
    switch (d) {
      case DType::f64: out[i] = load_le<double>(p); break;
      case DType::f32: out[i] = double(load_le<float>(p)); break;
      case DType::f16: out[i] = half_to_double(load_le<std::uint16_t>(p)); break;
      case DType::bf16: out[i] = bf16_to_double(load_le<std::uint16_t>(p)); break;
      case DType::boolean: out[i] = *p ? 1.0 : 0.0; break;
      case DType::u8: out[i] = double(*p); break;
      case DType::i8: out[i] = double(std::int8_t(*p)); break;
      case DType::i16: out[i] = double(load_le<std::int16_t>(p)); break;
      case DType::i32: out[i] = double(load_le<std::int32_t>(p)); break;
      case DType::i64: out[i] = double(load_le<std::int64_t>(p)); break;
    }
  }
}

/// numel with overflow and negativity checks.
std::int64_t checked_numel(const std::vector<std::int64_t>& shape, const std::string& path, const std::string& name) {
  std::int64_t n = 1;
  for (auto s : shape) {
    if (s < 0) tensor_fail(path, name, "negative dimension in shape");
    if (s != 0 && n > std::numeric_limits<std::int64_t>::max() / 16 / s)
      tensor_fail(path, name, "shape is too large (element count overflows)");
    n *= s;
  }
  return n;
}

void check_all_finite(const Tensor& t, const std::string& path) {
  for (std::size_t i = 0; i < t.data.size(); ++i) {
    if (std::isfinite(t.data[i])) continue;
    // Multi-index of flat position i (C order).
    std::string idx;
    std::uint64_t rest = i;
    std::vector<std::int64_t> pos(t.info.shape.size());
    for (std::size_t k = t.info.shape.size(); k-- > 0;) {
      pos[k] = std::int64_t(rest % std::uint64_t(t.info.shape[k]));
      rest /= std::uint64_t(t.info.shape[k]);
    }
    for (std::size_t k = 0; k < pos.size(); ++k) idx += (k ? ", " : "") + std::to_string(pos[k]);
    tensor_fail(path, t.info.name, "non-finite value " + std::to_string(t.data[i]) + " at [" + idx +
                                       "]: finite values are needed (clean the tensor or drop the layer)");
  }
}

// ---- a small strict JSON parser (for safetensors headers) ------------------------------------------
struct Json {
  enum class Kind { null, boolean, number, string, array, object } kind = Kind::null;
  bool b = false;
  double num = 0;
  bool integral = false;  ///< number written without fraction/exponent
  std::int64_t integer = 0;
  std::string str;
  std::vector<Json> arr;
  std::vector<std::pair<std::string, Json>> obj;
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& s) : s_(s) {}
  Json parse_document() {
    Json v = value(0);
    ws();
    if (i_ != s_.size()) fail("unexpected text after the JSON value");
    return v;
  }
  struct Failure {
    std::string what;
  };

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Failure{what + " at byte " + std::to_string(i_) + " of the JSON header"};
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  char peek() {
    if (i_ >= s_.size()) fail("unexpected end");
    return s_[i_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  void literal(const char* word) {
    const std::size_t n = std::strlen(word);
    if (s_.compare(i_, n, word) != 0) fail("invalid literal");
    i_ += n;
  }
  Json value(int depth) {
    if (depth > kMaxJsonDepth) fail("nesting deeper than " + std::to_string(kMaxJsonDepth));
    ws();
    Json v;
    const char c = peek();
    if (c == '{') {
      v.kind = Json::Kind::object;
      ++i_;
      ws();
      if (peek() == '}') return ++i_, v;
      for (;;) {
        ws();
        if (peek() != '"') fail("expected a string key");
        std::string key = string();
        for (const auto& [k, _] : v.obj)
          if (k == key) fail("duplicate key \"" + key + "\"");
        ws();
        expect(':');
        v.obj.emplace_back(std::move(key), value(depth + 1));
        ws();
        if (peek() == ',') { ++i_; continue; }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind = Json::Kind::array;
      ++i_;
      ws();
      if (peek() == ']') return ++i_, v;
      for (;;) {
        v.arr.push_back(value(depth + 1));
        ws();
        if (peek() == ',') { ++i_; continue; }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind = Json::Kind::string;
      v.str = string();
      return v;
    }
    if (c == 't') return literal("true"), v.kind = Json::Kind::boolean, v.b = true, v;
    if (c == 'f') return literal("false"), v.kind = Json::Kind::boolean, v;
    if (c == 'n') return literal("null"), v;
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    fail(std::string("unexpected character '") + c + "'");
  }
  Json number() {
    const std::size_t start = i_;
    if (s_[i_] == '-') ++i_;
    bool integral = true;
    auto digits = [&] {
      const std::size_t d0 = i_;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
      if (i_ == d0) fail("malformed number");
    };
    digits();
    if (i_ < s_.size() && s_[i_] == '.') { ++i_; digits(); integral = false; }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      digits();
      integral = false;
    }
    Json v;
    v.kind = Json::Kind::number;
    const std::string text = s_.substr(start, i_ - start);
    v.num = std::strtod(text.c_str(), nullptr);
    if (integral) {
      errno = 0;
      char* end = nullptr;
      const long long x = std::strtoll(text.c_str(), &end, 10);
      v.integral = errno == 0;
      v.integer = x;
    }
    return v;
  }
  void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) out += char(cp);
    else if (cp < 0x800) out += char(0xc0 | (cp >> 6)), out += char(0x80 | (cp & 0x3f));
    else if (cp < 0x10000)
      out += char(0xe0 | (cp >> 12)), out += char(0x80 | ((cp >> 6) & 0x3f)), out += char(0x80 | (cp & 0x3f));
    else
      out += char(0xf0 | (cp >> 18)), out += char(0x80 | ((cp >> 12) & 0x3f)),
          out += char(0x80 | ((cp >> 6) & 0x3f)), out += char(0x80 | (cp & 0x3f));
  }
  std::uint32_t hex4() {
    if (i_ + 4 > s_.size()) fail("truncated \\u escape");
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= std::uint32_t(h - '0');
      else if (h >= 'a' && h <= 'f') v |= std::uint32_t(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= std::uint32_t(h - 'A' + 10);
      else fail("bad hex digit in \\u escape");
    }
    return v;
  }
  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      const char c = peek();
      ++i_;
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character inside a string");
      if (c != '\\') { out += c; continue; }
      const char e = peek();
      ++i_;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xd800 && cp < 0xdc00) {  // surrogate pair
            if (s_.compare(i_, 2, "\\u") != 0) fail("unpaired surrogate in \\u escape");
            i_ += 2;
            const std::uint32_t lo = hex4();
            if (lo < 0xdc00 || lo > 0xdfff) fail("bad low surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          }
          put_utf8(out, cp);
          break;
        }
        default: fail(std::string("bad escape '\\") + e + "'");
      }
    }
  }

  const std::string& s_;
  std::size_t i_ = 0;
};

std::string json_escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(static_cast<unsigned char>(c)));
      out += buf;
    } else out += c;
  }
  return out;
}

// ---- safetensors -----------------------------------------------------------------------------------
struct SafetensorsEntry {
  TensorInfo info;
  std::uint64_t begin = 0, end = 0;  ///< byte range relative to the data section
};
struct SafetensorsHeader {
  std::uint64_t data_start = 0;  ///< 8 + header length
  std::vector<SafetensorsEntry> entries;
};

std::optional<DType> dtype_from_safetensors(const std::string& s) {
  static const std::map<std::string, DType> known = {
      {"F64", DType::f64}, {"F32", DType::f32},     {"F16", DType::f16}, {"BF16", DType::bf16},
      {"BOOL", DType::boolean}, {"U8", DType::u8}, {"I8", DType::i8},   {"I16", DType::i16},
      {"I32", DType::i32}, {"I64", DType::i64}};
  auto it = known.find(s);
  return it == known.end() ? std::nullopt : std::optional<DType>(it->second);
}

SafetensorsHeader read_safetensors_header(InFile& f) {
  const std::string& path = f.path();
  if (f.size() < 8) io_fail(path, "truncated: a safetensors file starts with an 8-byte header length, the file has " +
                                      std::to_string(f.size()) + " bytes");
  unsigned char len_bytes[8];
  f.read(0, 8, len_bytes, "the header length");
  const std::uint64_t n = load_le<std::uint64_t>(len_bytes);
  if (n == 0) io_fail(path, "bad safetensors header length 0");
  if (n > kMaxHeaderBytes)
    io_fail(path, "bad safetensors header length " + std::to_string(n) + " (limit " + std::to_string(kMaxHeaderBytes) +
                      " bytes): not a safetensors file?");
  if (n > f.size() - 8)
    io_fail(path, "truncated or bad header length: the header claims " + std::to_string(n) + " bytes but only " +
                      std::to_string(f.size() - 8) + " follow the length field");
  const std::string text = f.read_string(8, n, "the JSON header");
  Json root;
  try {
    root = JsonParser(text).parse_document();
  } catch (const JsonParser::Failure& e) {
    io_fail(path, "bad safetensors JSON header: " + e.what);
  }
  if (root.kind != Json::Kind::object) io_fail(path, "bad safetensors header: the JSON header is not an object");

  SafetensorsHeader h;
  h.data_start = 8 + n;
  const std::uint64_t data_size = f.size() - h.data_start;
  for (const auto& [name, v] : root.obj) {
    if (name == "__metadata__") {
      if (v.kind != Json::Kind::object) io_fail(path, "bad safetensors header: __metadata__ must be an object of strings");
      for (const auto& [k, m] : v.obj)
        if (m.kind != Json::Kind::string)
          io_fail(path, "bad safetensors header: __metadata__[\"" + k + "\"] must be a string");
      continue;
    }
    auto bad = [&](const std::string& what) { io_fail(path, "bad safetensors header: tensor '" + name + "': " + what); };
    if (v.kind != Json::Kind::object) bad("entry is not an object");
    const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (const auto& [k, x] : v.obj) {
      if (k == "dtype") dtype = &x;
      else if (k == "shape") shape = &x;
      else if (k == "data_offsets") offsets = &x;
    }
    if (!dtype || dtype->kind != Json::Kind::string) bad("missing string \"dtype\"");
    if (!shape || shape->kind != Json::Kind::array) bad("missing array \"shape\"");
    if (!offsets || offsets->kind != Json::Kind::array || offsets->arr.size() != 2)
      bad("missing \"data_offsets\": [begin, end]");
    SafetensorsEntry e;
    e.info.name = name;
    const auto dt = dtype_from_safetensors(dtype->str);
    if (!dt)
      throw TensorError(path + ": tensor '" + name + "': unsupported dtype " + dtype->str +
                        " (nmlab reads F64, F32, F16, BF16, BOOL, U8, I8, I16, I32, I64): convert it, e.g. t.float()");
    e.info.dtype = *dt;
    for (const auto& s : shape->arr) {
      if (s.kind != Json::Kind::number || !s.integral || s.integer < 0) bad("shape entries must be non-negative integers");
      e.info.shape.push_back(s.integer);
    }
    for (int k = 0; k < 2; ++k) {
      const Json& o = offsets->arr[std::size_t(k)];
      if (o.kind != Json::Kind::number || !o.integral || o.integer < 0) bad("data_offsets must be non-negative integers");
    }
    e.begin = std::uint64_t(offsets->arr[0].integer);
    e.end = std::uint64_t(offsets->arr[1].integer);
    if (e.end < e.begin) bad("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] end before begin");
    if (e.end > data_size)
      bad("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] run past the data section (" +
          std::to_string(data_size) + " bytes): truncated file?");
    const std::int64_t numel = checked_numel(e.info.shape, path, name);
    const std::uint64_t need = std::uint64_t(numel) * dtype_size(e.info.dtype);
    if (e.end - e.begin != need)
      bad("data_offsets span " + std::to_string(e.end - e.begin) + " bytes but shape " + e.info.shape_str() + " of " +
          to_string(e.info.dtype) + " needs " + std::to_string(need));
    h.entries.push_back(std::move(e));
  }
  // Byte ranges must not overlap (empty tensors occupy nothing).
  std::vector<const SafetensorsEntry*> by_begin;
  for (const auto& e : h.entries)
    if (e.end > e.begin) by_begin.push_back(&e);
  std::sort(by_begin.begin(), by_begin.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (std::size_t k = 1; k < by_begin.size(); ++k)
    if (by_begin[k]->begin < by_begin[k - 1]->end)
      io_fail(path, "bad safetensors header: data of tensors '" + by_begin[k - 1]->info.name + "' and '" +
                        by_begin[k]->info.name + "' overlap");
  return h;
}

// ---- .npy ------------------------------------------------------------------------------------------
struct NpyHeader {
  TensorInfo info;
  bool fortran_order = false;
  std::uint64_t data_offset = 0;  ///< absolute file offset of the data
};

/// A Python literal dict as np.save writes it: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class PyDictParser {
 public:
  PyDictParser(const std::string& s, std::string where) : s_(s), where_(std::move(where)) {}
  struct Value {
    enum class Kind { string, boolean, tuple, other } kind = Kind::other;
    std::string str;
    bool b = false;
    std::vector<std::int64_t> ints;
  };
  std::map<std::string, Value> parse() {
    std::map<std::string, Value> out;
    ws();
    expect('{');
    for (;;) {
      ws();
      if (peek() == '}') break;
      const std::string key = quoted();
      ws();
      expect(':');
      ws();
      out[key] = value();
      ws();
      if (peek() == ',') { ++i_; continue; }
      ws();
      expect('}');
      break;
    }
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw IoError(where_ + ": bad .npy header: " + what); }
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  char peek() {
    if (i_ >= s_.size()) fail("unexpected end of the header dict");
    return s_[i_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "' in \"" + s_ + "\"");
    ++i_;
  }
  std::string quoted() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted key in \"" + s_ + "\"");
    ++i_;
    const std::size_t end = s_.find(q, i_);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(i_, end - i_);
    i_ = end + 1;
    return out;
  }
  Value value() {
    Value v;
    const char c = peek();
    if (c == '\'' || c == '"') {
      v.kind = Value::Kind::string;
      v.str = quoted();
    } else if (s_.compare(i_, 4, "True") == 0) {
      v.kind = Value::Kind::boolean, v.b = true, i_ += 4;
    } else if (s_.compare(i_, 5, "False") == 0) {
      v.kind = Value::Kind::boolean, i_ += 5;
    } else if (c == '(') {
      v.kind = Value::Kind::tuple;
      ++i_;
      for (;;) {
        ws();
        if (peek() == ')') { ++i_; break; }
        const std::size_t d0 = i_;
        while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
        if (i_ == d0 || i_ - d0 > 18) fail("shape entries must be non-negative integers");
        v.ints.push_back(std::stoll(s_.substr(d0, i_ - d0)));
        ws();
        if (peek() == ',') ++i_;
        else if (peek() != ')') fail("expected ',' or ')' in the shape tuple");
      }
    } else {
      // A list (structured dtype) or anything else: skip to the matching bracket, report as 'other'.
      int depth = 0;
      while (i_ < s_.size()) {
        const char x = s_[i_];
        if (x == '[' || x == '(' || x == '{') ++depth;
        if (x == ']' || x == ')' || x == '}') {
          if (depth == 0) break;
          --depth;
        }
        if (x == ',' && depth == 0) break;
        ++i_;
      }
    }
    return v;
  }

  const std::string& s_;
  std::string where_;
  std::size_t i_ = 0;
};

DType dtype_from_descr(const std::string& descr, const std::string& where) {
  auto unsupported = [&](const std::string& why) -> DType {
    throw TensorError(where + ": unsupported dtype '" + descr + "' (" + why +
                      "); nmlab reads '<f8' '<f4' '<f2' '|u1' '|b1' '<i1' '<i2' '<i4' '<i8': use arr.astype('<f4')");
  };
  if (descr.size() < 3) return unsupported("not a simple dtype");
  const char order = descr[0];
  const std::string code = descr.substr(1);
  if (order == '>') return unsupported("big-endian");
  if (order != '<' && order != '|' && order != '=') return unsupported("unknown byte order");
  static const std::map<std::string, DType> known = {
      {"f8", DType::f64}, {"f4", DType::f32}, {"f2", DType::f16}, {"u1", DType::u8}, {"b1", DType::boolean},
      {"i1", DType::i8},  {"i2", DType::i16}, {"i4", DType::i32}, {"i8", DType::i64}};
  auto it = known.find(code);
  if (it == known.end()) return unsupported("type code '" + code + "'");
  return it->second;
}

/// Parses a .npy stored at [base, base + length) of `f` (a whole .npy file or an .npz entry).
NpyHeader read_npy_header(InFile& f, std::uint64_t base, std::uint64_t length, const std::string& where,
                          const std::string& name) {
  if (length < 10) io_fail(where, "truncated: a .npy needs at least 10 bytes, it has " + std::to_string(length));
  unsigned char pre[12] = {};
  f.read(base, std::min<std::uint64_t>(12, length), pre, "the .npy preamble");
  if (std::memcmp(pre, "\x93NUMPY", 6) != 0) io_fail(where, "not a .npy array (missing the \\x93NUMPY magic)");
  const int major = pre[6];
  std::uint64_t header_len, header_start;
  if (major == 1) {
    header_len = load_le<std::uint16_t>(pre + 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (length < 12) io_fail(where, "truncated .npy v" + std::to_string(major) + " preamble");
    header_len = load_le<std::uint32_t>(pre + 8);
    header_start = 12;
  } else {
    io_fail(where, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(pre[7]) +
                       " (nmlab reads 1.x, 2.x, 3.x)");
  }
  if (header_len > length - header_start)
    io_fail(where, "truncated or bad .npy header length " + std::to_string(header_len) + " (" +
                       std::to_string(length - header_start) + " bytes follow)");
  const std::string text = f.read_string(base + header_start, header_len, "the .npy header");
  auto dict = PyDictParser(text, where).parse();
  for (const char* key : {"descr", "fortran_order", "shape"})
    if (!dict.count(key)) io_fail(where, std::string("bad .npy header: no '") + key + "' in \"" + text + "\"");
  if (dict["descr"].kind != PyDictParser::Value::Kind::string)
    throw TensorError(where + ": unsupported dtype (structured arrays are not read): save a plain float array");
  if (dict["fortran_order"].kind != PyDictParser::Value::Kind::boolean)
    io_fail(where, "bad .npy header: fortran_order must be True or False");
  if (dict["shape"].kind != PyDictParser::Value::Kind::tuple) io_fail(where, "bad .npy header: shape must be a tuple");
  NpyHeader h;
  h.info.name = name;
  h.info.dtype = dtype_from_descr(dict["descr"].str, where);
  h.info.shape = dict["shape"].ints;
  h.fortran_order = dict["fortran_order"].b;
  h.data_offset = base + header_start + header_len;
  const std::uint64_t have = length - header_start - header_len;
  const std::uint64_t need = std::uint64_t(checked_numel(h.info.shape, where, name)) * dtype_size(h.info.dtype);
  if (have != need)
    io_fail(where, (have < need ? "truncated: " : "trailing bytes: ") + std::string("shape ") + h.info.shape_str() +
                       " of " + dict["descr"].str + " needs " + std::to_string(need) + " data bytes, there are " +
                       std::to_string(have));
  return h;
}

/// Fortran (column-major) data to C order, any rank.
std::vector<double> fortran_to_c(const std::vector<double>& f, const std::vector<std::int64_t>& shape) {
  std::vector<double> c(f.size());
  const std::size_t nd = shape.size();
  std::vector<std::int64_t> idx(nd, 0), cstride(nd, 1);
  for (std::size_t k = nd; k-- > 1;) cstride[k - 1] = cstride[k] * shape[k];
  for (std::size_t lin = 0; lin < f.size(); ++lin) {
    std::int64_t off = 0;
    for (std::size_t k = 0; k < nd; ++k) off += idx[k] * cstride[k];
    c[std::size_t(off)] = f[lin];
    for (std::size_t k = 0; k < nd; ++k) {  // first index fastest
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return c;
}

Tensor read_npy_data(InFile& f, const NpyHeader& h) {
  Tensor t;
  t.info = h.info;
  const std::int64_t n = h.info.numel();
  std::vector<unsigned char> raw(std::size_t(n) * dtype_size(h.info.dtype));
  f.read(h.data_offset, raw.size(), raw.data(), "the data of '" + h.info.name + "'");
  t.data.resize(std::size_t(n));
  decode(h.info.dtype, raw.data(), n, t.data.data());
  if (h.fortran_order && h.info.shape.size() > 1) t.data = fortran_to_c(t.data, h.info.shape);
  return t;
}

std::string npy_name(const std::string& path) { return fs::path(path).stem().string(); }

// ---- .npz (a zip of .npy entries) ------------------------------------------------------------------
struct ZipEntry {
  std::string name;  ///< without ".npy"
  std::uint64_t data_offset = 0, size = 0;
  std::uint32_t crc = 0;
};

std::vector<ZipEntry> read_zip_directory(InFile& f) {
  const std::string& path = f.path();
  constexpr std::uint64_t kEocd = 22;
  if (f.size() < kEocd) io_fail(path, "truncated: too small for a zip (.npz) file");
  const std::uint64_t tail_len = std::min<std::uint64_t>(f.size(), kEocd + 0xffff);
  std::vector<unsigned char> tail(tail_len);
  f.read(f.size() - tail_len, tail_len, tail.data(), "the zip end record");
  std::optional<std::uint64_t> eocd_at;
  for (std::uint64_t k = tail_len - kEocd + 1; k-- > 0;)
    if (load_le<std::uint32_t>(&tail[k]) == 0x06054b50) { eocd_at = k; break; }
  if (!eocd_at) io_fail(path, "not a zip (.npz) file or truncated: no end-of-central-directory record");
  const unsigned char* e = &tail[*eocd_at];
  std::uint64_t entries = load_le<std::uint16_t>(e + 10);
  std::uint64_t cd_size = load_le<std::uint32_t>(e + 12);
  std::uint64_t cd_offset = load_le<std::uint32_t>(e + 16);
  const std::uint64_t eocd_abs = f.size() - tail_len + *eocd_at;
  if (entries == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {  // zip64
    unsigned char loc[20];
    if (eocd_abs < 20) io_fail(path, "bad zip: zip64 locator missing");
    f.read(eocd_abs - 20, 20, loc, "the zip64 locator");
    if (load_le<std::uint32_t>(loc) != 0x07064b50) io_fail(path, "bad zip: zip64 locator missing");
    unsigned char rec[56];
    f.read(load_le<std::uint64_t>(loc + 8), 56, rec, "the zip64 end record");
    if (load_le<std::uint32_t>(rec) != 0x06064b50) io_fail(path, "bad zip: zip64 end record signature");
    entries = load_le<std::uint64_t>(rec + 32);
    cd_size = load_le<std::uint64_t>(rec + 40);
    cd_offset = load_le<std::uint64_t>(rec + 48);
  }
  if (cd_offset > f.size() || cd_size > f.size() - cd_offset)
    io_fail(path, "bad zip: the central directory [" + std::to_string(cd_offset) + ", +" + std::to_string(cd_size) +
                      ") lies outside the file (truncated?)");
  std::vector<unsigned char> cd(cd_size);
  f.read(cd_offset, cd_size, cd.data(), "the zip central directory");

  std::vector<ZipEntry> out;
  std::uint64_t p = 0;
  for (std::uint64_t k = 0; k < entries; ++k) {
    if (p + 46 > cd_size || load_le<std::uint32_t>(&cd[p]) != 0x02014b50)
      io_fail(path, "bad zip: central directory entry " + std::to_string(k) + " is malformed");
    const unsigned char* c = &cd[p];
    const std::uint16_t flags = load_le<std::uint16_t>(c + 8), method = load_le<std::uint16_t>(c + 10);
    const std::uint32_t crc = load_le<std::uint32_t>(c + 16);
    std::uint64_t csize = load_le<std::uint32_t>(c + 20), usize = load_le<std::uint32_t>(c + 24);
    const std::uint16_t name_len = load_le<std::uint16_t>(c + 28), extra_len = load_le<std::uint16_t>(c + 30),
                        comment_len = load_le<std::uint16_t>(c + 32);
    std::uint64_t local = load_le<std::uint32_t>(c + 42);
    if (p + 46 + name_len + extra_len + comment_len > cd_size)
      io_fail(path, "bad zip: central directory entry " + std::to_string(k) + " runs past the directory");
    std::string name(reinterpret_cast<const char*>(c + 46), name_len);
    // zip64 extra field (id 1): the 0xffffffff fields, in the order usize, csize, local offset.
    for (std::uint64_t x = 0; x + 4 <= extra_len;) {
      const unsigned char* xf = c + 46 + name_len + x;
      const std::uint16_t id = load_le<std::uint16_t>(xf), len = load_le<std::uint16_t>(xf + 2);
      if (x + 4 + len > extra_len) break;
      if (id == 1) {
        std::uint64_t q = 4;
        auto take = [&](std::uint64_t& field) {
          if (field != 0xffffffff) return;
          if (q + 8 > 4u + len) io_fail(path, "bad zip: short zip64 extra field in '" + name + "'");
          field = load_le<std::uint64_t>(xf + q);
          q += 8;
        };
        take(usize), take(csize), take(local);
      }
      x += 4 + len;
    }
    p += 46 + name_len + extra_len + comment_len;
    if (name.size() >= 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    if (flags & 1) io_fail(path, "entry '" + name + "' is encrypted");
    if (method != 0)
      io_fail(path, "entry '" + name + "' is compressed (zip method " + std::to_string(method) +
                        (method == 8 ? ", deflate" : "") +
                        "): nmlab reads uncompressed .npz only; save with np.savez, not np.savez_compressed");
    if (csize != usize) io_fail(path, "bad zip: stored entry '" + name + "' has different compressed/plain sizes");
    unsigned char lh[30];
    f.read(local, 30, lh, "the local header of '" + name + "'");
    if (load_le<std::uint32_t>(lh) != 0x04034b50) io_fail(path, "bad zip: local header of '" + name + "' not found");
    ZipEntry z;
    z.name = name;
    z.crc = crc;
    z.size = usize;
    z.data_offset = local + 30 + load_le<std::uint16_t>(lh + 26) + load_le<std::uint16_t>(lh + 28);
    if (z.data_offset > f.size() || z.size > f.size() - z.data_offset)
      io_fail(path, "truncated: entry '" + name + "' runs past the end of the file");
    out.push_back(std::move(z));
  }
  return out;
}

const ZipEntry& find_zip_entry(const std::vector<ZipEntry>& entries, const std::string& path, const std::string& name);

// ---- HDF5 ------------------------------------------------------------------------------------------
std::string h5_name(const std::string& name) { return name.empty() || name[0] != '/' ? "/" + name : name; }

std::optional<DType> h5_dtype(const H5::DataSet& ds) {
  const H5T_class_t cls = ds.getTypeClass();
  if (cls == H5T_FLOAT) {
    const std::size_t sz = ds.getFloatType().getSize();
    if (sz == 8) return DType::f64;
    if (sz == 4) return DType::f32;
    if (sz == 2) return DType::f16;
  } else if (cls == H5T_INTEGER) {
    const H5::IntType t = ds.getIntType();
    const bool is_signed = t.getSign() != H5T_SGN_NONE;
    switch (t.getSize()) {
      case 1: return is_signed ? DType::i8 : DType::u8;
      case 2: if (is_signed) return DType::i16; break;
      case 4: if (is_signed) return DType::i32; break;
      case 8: if (is_signed) return DType::i64; break;
    }
  }
  return std::nullopt;
}

H5::H5File open_h5(const std::string& path) {
  H5::Exception::dontPrint();
  InFile probe(path);  // existence and size checks with our messages
  try {
    if (!H5::H5File::isHdf5(path.c_str())) io_fail(path, "not an HDF5 file (no HDF5 signature)");
    return H5::H5File(path, H5F_ACC_RDONLY);
  } catch (const H5::Exception& e) {
    io_fail(path, "cannot open as HDF5 (truncated or corrupt?): " + e.getDetailMsg());
  }
}

TensorInfo h5_info(const std::string& path, const H5::DataSet& ds, const std::string& name) {
  TensorInfo info;
  info.name = name;
  const auto dt = h5_dtype(ds);
  if (!dt)
    tensor_fail(path, name, "unsupported dtype (HDF5 type class " + std::to_string(int(ds.getTypeClass())) +
                                "): nmlab reads float and signed/8-bit integer datasets");
  info.dtype = *dt;
  const H5::DataSpace space = ds.getSpace();
  const int nd = space.getSimpleExtentNdims();
  std::vector<hsize_t> dims(std::size_t(std::max(nd, 0)));
  if (nd > 0) space.getSimpleExtentDims(dims.data());
  for (auto d : dims) info.shape.push_back(std::int64_t(d));
  return info;
}

void h5_visit(const std::string& path, const H5::Group& g, const std::string& prefix, std::vector<TensorInfo>& out) {
  for (hsize_t k = 0; k < g.getNumObjs(); ++k) {
    const std::string child = g.getObjnameByIdx(k);
    const std::string full = prefix.empty() ? child : prefix + "/" + child;
    const H5O_type_t type = g.childObjType(child);
    if (type == H5O_TYPE_GROUP) h5_visit(path, g.openGroup(child), full, out);
    else if (type == H5O_TYPE_DATASET) {
      const H5::DataSet ds = g.openDataSet(child);
      if (h5_dtype(ds)) out.push_back(h5_info(path, ds, full));  // non-numeric datasets are not tensors
    }
  }
}

template <class F>
auto with_h5(const std::string& path, F&& body) {
  try {
    return body();
  } catch (const H5::Exception& e) {
    io_fail(path, "HDF5 error: " + e.getDetailMsg());
  }
}

// ---- shared ---------------------------------------------------------------------------------------
[[noreturn]] void missing_tensor(const std::string& path, const std::string& name, const std::vector<std::string>& names) {
  std::string known;
  for (std::size_t k = 0; k < names.size() && k < 12; ++k) known += (k ? ", " : "") + names[k];
  if (names.size() > 12) known += ", ... (" + std::to_string(names.size()) + " in all)";
  throw TensorError(path + ": no tensor '" + name + "'; the file has: " + (known.empty() ? "(none)" : known));
}

const ZipEntry& find_zip_entry(const std::vector<ZipEntry>& entries, const std::string& path, const std::string& name) {
  for (const auto& z : entries)
    if (z.name == name) return z;
  std::vector<std::string> names;
  for (const auto& z : entries) names.push_back(z.name);
  missing_tensor(path, name, names);
}

bool has_suffix(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

/// Natural order: digit runs compare as numbers (layers.2 < layers.10).
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      std::size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
      while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
      std::string x = a.substr(i, i2 - i), y = b.substr(j, j2 - j);
      x.erase(0, std::min(x.find_first_not_of('0'), x.size()));
      y.erase(0, std::min(y.find_first_not_of('0'), y.size()));
      if (x.size() != y.size()) return x.size() < y.size();
      if (x != y) return x < y;
      i = i2, j = j2;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i, ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

}  // namespace

// ---- public API ------------------------------------------------------------------------------------
std::string to_string(DType d) {
  switch (d) {
    case DType::f64: return "F64";
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    case DType::boolean: return "BOOL";
    case DType::u8: return "U8";
    case DType::i8: return "I8";
    case DType::i16: return "I16";
    case DType::i32: return "I32";
    case DType::i64: return "I64";
  }
  return "?";
}

std::size_t dtype_size(DType d) {
  switch (d) {
    case DType::f64: case DType::i64: return 8;
    case DType::f32: case DType::i32: return 4;
    case DType::f16: case DType::bf16: case DType::i16: return 2;
    case DType::boolean: case DType::u8: case DType::i8: return 1;
  }
  return 0;
}

std::string to_string(TensorFormat f) {
  switch (f) {
    case TensorFormat::safetensors: return "safetensors";
    case TensorFormat::npy: return "npy";
    case TensorFormat::npz: return "npz";
    case TensorFormat::hdf5: return "hdf5";
  }
  return "?";
}

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

std::string TensorInfo::shape_str() const {
  std::string s = "[";
  for (std::size_t k = 0; k < shape.size(); ++k) s += (k ? ", " : "") + std::to_string(shape[k]);
  return s + "]";
}

TensorFormat detect_tensor_format(const std::string& path) {
  if (has_suffix(path, ".safetensors")) return TensorFormat::safetensors;
  if (has_suffix(path, ".npy")) return TensorFormat::npy;
  if (has_suffix(path, ".npz")) return TensorFormat::npz;
  if (has_suffix(path, ".h5") || has_suffix(path, ".hdf5") || has_suffix(path, ".hdf")) return TensorFormat::hdf5;
  InFile f(path);
  unsigned char head[9] = {};
  const std::uint64_t n = std::min<std::uint64_t>(9, f.size());
  f.read(0, n, head, "the file signature");
  if (n >= 6 && std::memcmp(head, "\x93NUMPY", 6) == 0) return TensorFormat::npy;
  if (n >= 4 && std::memcmp(head, "PK", 2) == 0) return TensorFormat::npz;
  if (n >= 8 && std::memcmp(head, "\x89HDF\r\n\x1a\n", 8) == 0) return TensorFormat::hdf5;
  if (n >= 9 && head[8] == '{') return TensorFormat::safetensors;
  io_fail(path, "unknown tensor file format: use .safetensors, .npy, .npz or .h5");
}

std::vector<TensorInfo> list_tensors(const std::string& path) {
  switch (detect_tensor_format(path)) {
    case TensorFormat::safetensors: {
      InFile f(path);
      std::vector<TensorInfo> out;
      for (auto& e : read_safetensors_header(f).entries) out.push_back(std::move(e.info));
      return out;
    }
    case TensorFormat::npy: {
      InFile f(path);
      return {read_npy_header(f, 0, f.size(), path, npy_name(path)).info};
    }
    case TensorFormat::npz: {
      InFile f(path);
      std::vector<TensorInfo> out;
      for (const auto& z : read_zip_directory(f))
        out.push_back(read_npy_header(f, z.data_offset, z.size, path + " entry '" + z.name + "'", z.name).info);
      return out;
    }
    case TensorFormat::hdf5: {
      H5::H5File h5 = open_h5(path);
      return with_h5(path, [&] {
        std::vector<TensorInfo> out;
        h5_visit(path, h5.openGroup("/"), "", out);
        return out;
      });
    }
  }
  return {};
}

TensorInfo tensor_info(const std::string& path, const std::string& name) {
  const TensorFormat fmt = detect_tensor_format(path);
  if (fmt == TensorFormat::hdf5) {
    H5::H5File h5 = open_h5(path);
    return with_h5(path, [&] {
      if (!h5.nameExists(h5_name(name)) || h5.childObjType(h5_name(name)) != H5O_TYPE_DATASET) {
        std::vector<std::string> names;
        for (const auto& t : list_tensors(path)) names.push_back(t.name);
        missing_tensor(path, name, names);
      }
      const std::string clean = h5_name(name).substr(1);
      return h5_info(path, h5.openDataSet(h5_name(name)), clean);
    });
  }
  const auto all = list_tensors(path);
  if (fmt == TensorFormat::npy && name.empty()) return all.front();
  for (const auto& t : all)
    if (t.name == name) return t;
  std::vector<std::string> names;
  for (const auto& t : all) names.push_back(t.name);
  missing_tensor(path, name, names);
}

Tensor read_tensor(const std::string& path, const std::string& name, bool require_finite) {
  Tensor t;
  switch (detect_tensor_format(path)) {
    case TensorFormat::safetensors: {
      InFile f(path);
      const SafetensorsHeader h = read_safetensors_header(f);
      const SafetensorsEntry* e = nullptr;
      for (const auto& x : h.entries)
        if (x.info.name == name) e = &x;
      if (!e) {
        std::vector<std::string> names;
        for (const auto& x : h.entries) names.push_back(x.info.name);
        missing_tensor(path, name, names);
      }
      t.info = e->info;
      std::vector<unsigned char> raw(e->end - e->begin);
      f.read(h.data_start + e->begin, raw.size(), raw.data(), "the data of '" + name + "'");
      t.data.resize(std::size_t(t.info.numel()));
      decode(t.info.dtype, raw.data(), t.info.numel(), t.data.data());
      break;
    }
    case TensorFormat::npy: {
      InFile f(path);
      const std::string stem = npy_name(path);
      if (!name.empty() && name != stem)
        missing_tensor(path, name, {stem + " (a .npy file holds one array; an empty name selects it)"});
      t = read_npy_data(f, read_npy_header(f, 0, f.size(), path, stem));
      break;
    }
    case TensorFormat::npz: {
      InFile f(path);
      const auto entries = read_zip_directory(f);
      const ZipEntry& z = find_zip_entry(entries, path, name);
      // The stored entry's CRC-32 must match: a flipped byte is an error, not a silent wrong weight.
      std::vector<unsigned char> raw(z.size);
      f.read(z.data_offset, z.size, raw.data(), "entry '" + name + "'");
      uLong crc = crc32(0L, Z_NULL, 0);
      for (std::uint64_t off = 0; off < raw.size(); off += 1u << 30)
        crc = crc32(crc, raw.data() + off, uInt(std::min<std::uint64_t>(raw.size() - off, 1u << 30)));
      if (std::uint32_t(crc) != z.crc) io_fail(path, "entry '" + name + "' is corrupt (CRC-32 mismatch)");
      t = read_npy_data(f, read_npy_header(f, z.data_offset, z.size, path + " entry '" + name + "'", name));
      break;
    }
    case TensorFormat::hdf5: {
      t.info = tensor_info(path, name);  // missing/unsupported errors
      H5::H5File h5 = open_h5(path);
      with_h5(path, [&] {
        const H5::DataSet ds = h5.openDataSet(h5_name(name));
        t.data.resize(std::size_t(t.info.numel()));
        if (!t.data.empty()) ds.read(t.data.data(), H5::PredType::NATIVE_DOUBLE);
        return 0;
      });
      break;
    }
  }
  if (require_finite) check_all_finite(t, path);
  return t;
}

Weights read_matrix(const std::string& path, const std::string& name) {
  const Tensor t = read_tensor(path, name, true);
  if (t.info.shape.size() != 2)
    tensor_fail(path, t.info.name, "expected a 2-D matrix, got shape " + t.info.shape_str());
  Weights W(t.info.shape[0], t.info.shape[1]);
  std::copy(t.data.begin(), t.data.end(), W.data());
  return W;
}

NamedTensor named_matrix(std::string name, const Weights& W) {
  NamedTensor t{std::move(name), {std::int64_t(W.rows()), std::int64_t(W.cols())}, {}};
  t.data.assign(W.data(), W.data() + W.size());
  return t;
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata, DType dtype) {
  if (dtype != DType::f32 && dtype != DType::f64)
    throw TensorError(path + ": write_safetensors writes F32 or F64, not " + to_string(dtype));
  const std::size_t esz = dtype_size(dtype);
  std::set<std::string> seen;
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!first) header += ',';
      header += "\"" + json_escape(k) + "\":\"" + json_escape(v) + "\"";
      first = false;
    }
    header += "}";
  }
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__") throw TensorError(path + ": invalid tensor name '" + t.name + "'");
    if (!seen.insert(t.name).second) throw TensorError(path + ": tensor '" + t.name + "' is written twice");
    if (checked_numel(t.shape, path, t.name) != std::int64_t(t.data.size()))
      tensor_fail(path, t.name, "shape does not match its " + std::to_string(t.data.size()) + " values");
    std::string shape;
    for (std::size_t k = 0; k < t.shape.size(); ++k) {
      if (k) shape += ',';
      shape += std::to_string(t.shape[k]);
    }
    const std::uint64_t bytes = t.data.size() * esz;
    if (header.size() > 1) header += ',';
    header += "\"" + json_escape(t.name) + "\":{\"dtype\":\"" + to_string(dtype) + "\",\"shape\":[" + shape +
              "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  // Pad with spaces so the data section starts 8-byte aligned (as the safetensors library does).
  while ((8 + header.size()) % 8 != 0) header += ' ';

  std::error_code ec;
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) io_fail(path, "cannot open for writing (directory missing or not writable?)");
    const std::uint64_t n = header.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out.write(header.data(), std::streamsize(header.size()));
    std::vector<char> buf;
    for (const auto& t : tensors) {
      buf.resize(t.data.size() * esz);
      for (std::size_t i = 0; i < t.data.size(); ++i) {
        if (dtype == DType::f32) {
          const float v = float(t.data[i]);
          std::memcpy(&buf[i * 4], &v, 4);
        } else {
          std::memcpy(&buf[i * 8], &t.data[i], 8);
        }
      }
      out.write(buf.data(), std::streamsize(buf.size()));
    }
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      io_fail(path, "write failed (disk full?)");
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    io_fail(path, "cannot rename the finished file into place: " + ec.message());
  }
}

bool is_tensor_glob(const std::string& pattern) { return pattern.find_first_of("*?[") != std::string::npos; }

std::vector<std::string> expand_tensor_glob(const std::string& path, const std::string& pattern) {
  std::vector<std::string> names, all;
  for (const auto& t : list_tensors(path)) {
    all.push_back(t.name);
    if (is_tensor_glob(pattern) ? fnmatch(pattern.c_str(), t.name.c_str(), 0) == 0 : t.name == pattern)
      names.push_back(t.name);
  }
  if (names.empty()) missing_tensor(path, pattern, all);
  std::sort(names.begin(), names.end(), natural_less);
  return names;
}

}  // namespace nmlab
