// Tensor files: round trips and every malformed-file case. Fixtures are generated here, in a temp dir.
#include "framework/io/tensor_file.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <H5Cpp.h>

#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "framework/core/errors.hpp"

namespace nmlab {
namespace {

namespace fs = std::filesystem;

constexpr double kExact = 0.0;  // decoding a stored value is exact; no rounding tolerance

class TensorFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nmlab_tensor_file_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// ---- byte builders ---------------------------------------------------------------------------------
template <class T>
void put(std::string& s, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  s.append(b, sizeof(T));
}
void write_file(const std::string& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}
std::string read_file(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
std::string floats(std::initializer_list<float> v) {
  std::string s;
  for (float x : v) put(s, x);
  return s;
}
std::string safetensors(const std::string& json, const std::string& data) {
  std::string s;
  put<std::uint64_t>(s, json.size());
  return s + json + data;
}
/// A .npy file: magic, version, header dict padded to 64 bytes, data.
std::string npy(const std::string& descr, bool fortran, const std::string& shape, const std::string& data, int major = 1) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                     ", 'shape': " + shape + ", }";
  const std::size_t pre = major == 1 ? 10 : 12;
  while ((pre + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string s = "\x93NUMPY";
  s += char(major);
  s += char(0);
  if (major == 1) put<std::uint16_t>(s, std::uint16_t(dict.size()));
  else put<std::uint32_t>(s, std::uint32_t(dict.size()));
  return s + dict + data;
}
struct ZipItem {
  std::string name, data;
  std::uint16_t method = 0;  // 0 stored, 8 deflate (only claimed, for the rejection test)
};
/// A zip with stored entries and a central directory, as np.savez writes it.
std::string zip(const std::vector<ZipItem>& items) {
  std::string out, cd;
  for (const auto& it : items) {
    const std::uint32_t crc = std::uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(it.data.data()), uInt(it.data.size())));
    const std::uint32_t offset = std::uint32_t(out.size());
    put<std::uint32_t>(out, 0x04034b50);
    put<std::uint16_t>(out, 20), put<std::uint16_t>(out, 0), put<std::uint16_t>(out, it.method);
    put<std::uint16_t>(out, 0), put<std::uint16_t>(out, 0);
    put<std::uint32_t>(out, crc), put<std::uint32_t>(out, std::uint32_t(it.data.size())),
        put<std::uint32_t>(out, std::uint32_t(it.data.size()));
    put<std::uint16_t>(out, std::uint16_t(it.name.size())), put<std::uint16_t>(out, 0);
    out += it.name + it.data;
    put<std::uint32_t>(cd, 0x02014b50);
    put<std::uint16_t>(cd, 20), put<std::uint16_t>(cd, 20), put<std::uint16_t>(cd, 0), put<std::uint16_t>(cd, it.method);
    put<std::uint16_t>(cd, 0), put<std::uint16_t>(cd, 0);
    put<std::uint32_t>(cd, crc), put<std::uint32_t>(cd, std::uint32_t(it.data.size())),
        put<std::uint32_t>(cd, std::uint32_t(it.data.size()));
    put<std::uint16_t>(cd, std::uint16_t(it.name.size())), put<std::uint16_t>(cd, 0), put<std::uint16_t>(cd, 0);
    put<std::uint16_t>(cd, 0), put<std::uint16_t>(cd, 0), put<std::uint32_t>(cd, 0), put<std::uint32_t>(cd, offset);
    cd += it.name;
  }
  const std::uint32_t cd_offset = std::uint32_t(out.size());
  out += cd;
  put<std::uint32_t>(out, 0x06054b50);
  put<std::uint16_t>(out, 0), put<std::uint16_t>(out, 0);
  put<std::uint16_t>(out, std::uint16_t(items.size())), put<std::uint16_t>(out, std::uint16_t(items.size()));
  put<std::uint32_t>(out, std::uint32_t(cd.size())), put<std::uint32_t>(out, cd_offset);
  put<std::uint16_t>(out, 0);
  return out;
}

/// Expects `f` to throw E whose message contains every one of `parts`.
template <class E, class F>
void expect_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning '" << *parts.begin() << "'";
  } catch (const E& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << "\n  lacks: " << p;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

// ---- safetensors -----------------------------------------------------------------------------------
TEST_F(TensorFileTest, SafetensorsRoundTripF32AndF64) {
  Weights W(3, 4);
  for (Index i = 0; i < W.size(); ++i) W.data()[i] = 0.1 * double(i) - 0.55;
  const std::string p32 = path("w32.safetensors"), p64 = path("w64.safetensors");
  write_safetensors(p32, {named_matrix("fc1.weight", W), NamedTensor{"fc1.bias", {3}, {1, 2, 3}}}, {{"note", "a \"q\""}});
  write_safetensors(p64, {named_matrix("fc1.weight", W)}, {}, DType::f64);

  const auto infos = list_tensors(p32);
  ASSERT_EQ(infos.size(), 2u);
  EXPECT_EQ(infos[0].name, "fc1.weight");
  EXPECT_EQ(infos[0].dtype, DType::f32);
  EXPECT_EQ(infos[0].shape, (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(infos[1].shape, (std::vector<std::int64_t>{3}));
  const Weights R32 = read_matrix(p32, "fc1.weight");
  for (Index i = 0; i < W.size(); ++i) EXPECT_EQ(R32.data()[i], double(float(W.data()[i])));
  EXPECT_EQ(read_matrix(p64, "fc1.weight"), W);
  EXPECT_EQ(read_tensor(p32, "fc1.bias").data, (std::vector<double>{1, 2, 3}));
  // The data section starts 8-byte aligned, as the safetensors library writes it.
  const std::string bytes = read_file(p32);
  std::uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + (12 + 3) * 4);
}

TEST_F(TensorFileTest, SafetensorsHalfAndBfloat16Decode) {
  // F16: 1.0, -2.0, 0.5, 65504 (max), 2^-24 (smallest subnormal), -0
  const std::vector<std::uint16_t> h = {0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000};
  const std::vector<double> h_want = {1.0, -2.0, 0.5, 65504.0, std::ldexp(1.0, -24), -0.0};
  // BF16: 1.0, -3.5, 2^-133 (subnormal), 3.0
  const std::vector<std::uint16_t> b = {0x3f80, 0xc060, 0x0001, 0x4040};
  const std::vector<double> b_want = {1.0, -3.5, std::ldexp(1.0, -133), 3.0};
  std::string data;
  for (auto x : h) put(data, x);
  for (auto x : b) put(data, x);
  const std::string p = path("half.safetensors");
  write_file(p, safetensors(R"({"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},)"
                            R"("b":{"dtype":"BF16","shape":[4],"data_offsets":[12,20]}})",
                            data));
  const Tensor th = read_tensor(p, "h"), tb = read_tensor(p, "b");
  ASSERT_EQ(th.data.size(), h_want.size());
  for (std::size_t i = 0; i < h_want.size(); ++i) EXPECT_NEAR(th.data[i], h_want[i], kExact);
  EXPECT_TRUE(std::signbit(th.data[5]));
  for (std::size_t i = 0; i < b_want.size(); ++i) EXPECT_NEAR(tb.data[i], b_want[i], kExact);
  EXPECT_EQ(th.info.dtype, DType::f16);
  EXPECT_EQ(tb.info.dtype, DType::bf16);
}

TEST_F(TensorFileTest, SafetensorsF16InfinityIsRejectedWhereFiniteNeeded) {
  std::string data;
  put<std::uint16_t>(data, 0x3c00), put<std::uint16_t>(data, 0x7c00);  // 1.0, +inf
  const std::string p = path("inf.safetensors");
  write_file(p, safetensors(R"({"x":{"dtype":"F16","shape":[1,2],"data_offsets":[0,4]}})", data));
  expect_error<TensorError>([&] { read_matrix(p, "x"); }, {p, "'x'", "non-finite", "[0, 1]"});
  EXPECT_TRUE(std::isinf(read_tensor(p, "x", /*require_finite=*/false).data[1]));
}

TEST_F(TensorFileTest, SafetensorsNaNIsRejected) {
  const std::string p = path("nan.safetensors");
  write_safetensors(p, {NamedTensor{"w", {2, 2}, {1, 2, std::numeric_limits<double>::quiet_NaN(), 4}}});
  expect_error<TensorError>([&] { read_matrix(p, "w"); }, {p, "'w'", "non-finite", "[1, 0]"});
}

TEST_F(TensorFileTest, SafetensorsMalformedFiles) {
  const std::string good_json = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data = floats({1, 2});
  struct Case {
    std::string file, bytes, message;
  };
  std::string huge_len;
  put<std::uint64_t>(huge_len, 1ull << 40);
  std::string zero_len;
  put<std::uint64_t>(zero_len, 0);
  const std::vector<Case> cases = {
      {"short.safetensors", "abc", "truncated"},
      {"zero_len.safetensors", zero_len + "{}", "header length 0"},
      {"huge_len.safetensors", huge_len + good_json, "bad safetensors header length"},
      {"past_end.safetensors", safetensors(good_json, data).substr(0, 8 + 10), "truncated or bad header length"},
      {"bad_json.safetensors", safetensors(R"({"w":{"dtype":"F32",)", ""), "bad safetensors JSON header"},
      {"trailing_json.safetensors", safetensors(good_json + "x", data), "unexpected text after"},
      {"not_object.safetensors", safetensors("[1,2]", ""), "not an object"},
      {"entry_not_object.safetensors", safetensors(R"({"w":3})", ""), "entry is not an object"},
      {"no_dtype.safetensors", safetensors(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", data), "dtype"},
      {"bad_shape.safetensors", safetensors(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data),
       "non-negative integers"},
      {"frac_shape.safetensors", safetensors(R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", data),
       "non-negative integers"},
      {"offsets_past_end.safetensors", safetensors(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", floats({1})),
       "run past the data section"},
      {"offsets_reversed.safetensors", safetensors(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", data),
       "end before begin"},
      {"offsets_mismatch.safetensors", safetensors(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data),
       "needs 12"},
      {"overlap.safetensors",
       safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                   data),
       "overlap"},
      {"dup.safetensors",
       safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                   data),
       "duplicate key"},
      {"bad_meta.safetensors", safetensors(R"({"__metadata__":{"k":1}})", ""), "__metadata__"},
      {"deep.safetensors", safetensors(std::string(100, '[') + std::string(100, ']'), ""), "nesting"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string p = path(c.file);
    write_file(p, c.bytes);
    expect_error<IoError>([&] { list_tensors(p); }, {p, c.message});
  }
}

TEST_F(TensorFileTest, SafetensorsUnsupportedDtypeAndMissingTensor) {
  const std::string p = path("c64.safetensors");
  write_file(p, safetensors(R"({"z":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}})", floats({1, 2})));
  expect_error<TensorError>([&] { read_tensor(p, "z"); }, {p, "'z'", "unsupported dtype C64"});

  const std::string q = path("named.safetensors");
  write_safetensors(q, {NamedTensor{"fc1.weight", {1}, {1}}, NamedTensor{"fc2.weight", {1}, {2}}});
  expect_error<TensorError>([&] { read_tensor(q, "fc3.weight"); }, {q, "no tensor 'fc3.weight'", "fc1.weight, fc2.weight"});
  expect_error<TensorError>([&] { tensor_info(q, "nope"); }, {"no tensor 'nope'"});
  expect_error<TensorError>([&] { read_matrix(q, "fc1.weight"); }, {"expected a 2-D matrix", "[1]"});
}

TEST_F(TensorFileTest, MissingFileAndDirectoryAndUnknownFormat) {
  expect_error<IoError>([&] { list_tensors(path("absent.safetensors")); }, {"absent.safetensors", "no such file"});
  expect_error<IoError>([&] { list_tensors(dir_.string()); }, {"is a directory"});
  const std::string p = path("mystery.bin");
  write_file(p, "hello world, not a tensor");
  expect_error<IoError>([&] { list_tensors(p); }, {"unknown tensor file format"});
}

TEST_F(TensorFileTest, WriteRejectsBadInput) {
  expect_error<TensorError>([&] { write_safetensors(path("x.safetensors"), {NamedTensor{"w", {2, 2}, {1, 2, 3}}}); },
                            {"shape does not match"});
  expect_error<TensorError>(
      [&] { write_safetensors(path("x.safetensors"), {NamedTensor{"w", {1}, {1}}, NamedTensor{"w", {1}, {2}}}); },
      {"written twice"});
  EXPECT_FALSE(fs::exists(path("x.safetensors")));
}

// ---- .npy ------------------------------------------------------------------------------------------
TEST_F(TensorFileTest, NpyVersionsOrdersAndDtypes) {
  std::string f8;
  for (double v : {1.0, 4.0, 2.0, 5.0, 3.0, 6.0}) put(f8, v);  // Fortran order of [[1,2,3],[4,5,6]]
  for (int major : {1, 2, 3}) {
    SCOPED_TRACE(major);
    const std::string p = path("a" + std::to_string(major) + ".npy");
    write_file(p, npy("<f8", true, "(2, 3)", f8, major));
    const Weights A = read_matrix(p, "");
    Weights want(2, 3);
    want << 1, 2, 3, 4, 5, 6;
    EXPECT_EQ(A, want);
    EXPECT_EQ(tensor_info(p, "").name, "a" + std::to_string(major));
  }
  const std::string c = path("c.npy");
  write_file(c, npy("<f4", false, "(2, 2)", floats({1, 2, 3, 4})));
  EXPECT_EQ(read_tensor(c, "c").data, (std::vector<double>{1, 2, 3, 4}));

  std::string h;
  for (std::uint16_t x : {0x3c00, 0xbc00}) put(h, x);
  const std::string ph = path("h.npy");
  write_file(ph, npy("<f2", false, "(2,)", h));
  EXPECT_EQ(read_tensor(ph, "").data, (std::vector<double>{1, -1}));

  const std::string pb = path("mask.npy");
  write_file(pb, npy("|b1", false, "(3,)", std::string("\x01\x00\x01", 3)));
  EXPECT_EQ(read_tensor(pb, "").data, (std::vector<double>{1, 0, 1}));

  // A 3-D Fortran-order array: element (i, j, k) stored at i + 2 j + 4 k.
  std::string f3;
  for (int lin = 0; lin < 2 * 2 * 3; ++lin) put(f3, double(lin));
  const std::string p3 = path("f3.npy");
  write_file(p3, npy("<f8", true, "(2, 2, 3)", f3));
  const Tensor t3 = read_tensor(p3, "");
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k) EXPECT_EQ(t3.data[std::size_t(i * 6 + j * 3 + k)], double(i + 2 * j + 4 * k));

  const std::string scalar = path("s.npy");
  write_file(scalar, npy("<f8", false, "()", std::string("\0\0\0\0\0\0\xf0\x3f", 8)));
  EXPECT_EQ(read_tensor(scalar, "").data, (std::vector<double>{1.0}));
}

TEST_F(TensorFileTest, NpyMalformedFiles) {
  const std::string d = floats({1, 2, 3, 4});
  struct Case {
    std::string file, bytes, message;
    bool tensor_error = false;
  };
  std::string v9 = npy("<f4", false, "(4,)", d);
  v9[6] = 9;
  std::string long_header = npy("<f4", false, "(4,)", d);
  long_header[8] = char(0xff), long_header[9] = char(0x7f);
  std::string no_shape = npy("<f4", false, "(4,)", d);
  no_shape.replace(no_shape.find("shape"), 5, "shap_");
  const std::vector<Case> cases = {
      {"tiny.npy", "\x93NUM", "truncated"},
      {"magic.npy", "\x93NUMPX" + npy("<f4", false, "(4,)", d).substr(6), "magic"},
      {"version.npy", v9, "unsupported .npy format version 9"},
      {"header_len.npy", long_header, "bad .npy header length"},
      {"truncated.npy", npy("<f4", false, "(4,)", d.substr(0, 12)), "truncated: shape [4]"},
      {"trailing.npy", npy("<f4", false, "(4,)", d + "xx"), "trailing bytes"},
      {"no_shape.npy", no_shape, "no 'shape'"},
      {"bad_dict.npy", std::string("\x93NUMPY\x01\x00\x06\x00{'a' 1", 16), "bad .npy header"},
      {"big_endian.npy", npy(">f4", false, "(4,)", d), "big-endian", true},
      {"complex.npy", npy("<c8", false, "(2,)", d), "unsupported dtype '<c8'", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string p = path(c.file);
    write_file(p, c.bytes);
    if (c.tensor_error) expect_error<TensorError>([&] { read_tensor(p, ""); }, {p, c.message});
    else expect_error<IoError>([&] { read_tensor(p, ""); }, {p, c.message});
  }
  const std::string ok = path("ok.npy");
  write_file(ok, npy("<f4", false, "(4,)", d));
  expect_error<TensorError>([&] { read_tensor(ok, "other"); }, {"no tensor 'other'", "one array"});
}

// ---- .npz ------------------------------------------------------------------------------------------
TEST_F(TensorFileTest, NpzStoredEntries) {
  const std::string p = path("model.npz");
  write_file(p, zip({{"fc1.weight.npy", npy("<f4", false, "(2, 2)", floats({1, 2, 3, 4}))},
                     {"x.npy", npy("<f4", true, "(2, 2)", floats({1, 3, 2, 4}))}}));
  const auto infos = list_tensors(p);
  ASSERT_EQ(infos.size(), 2u);
  EXPECT_EQ(infos[0].name, "fc1.weight");
  EXPECT_EQ(infos[1].name, "x");
  EXPECT_EQ(read_matrix(p, "fc1.weight"), read_matrix(p, "x"));
  expect_error<TensorError>([&] { read_tensor(p, "y"); }, {"no tensor 'y'", "fc1.weight, x"});
}

TEST_F(TensorFileTest, NpzMalformedFiles) {
  const std::string entry = npy("<f4", false, "(2,)", floats({1, 2}));
  const std::string good = zip({{"a.npy", entry}});

  const std::string compressed = path("compressed.npz");
  write_file(compressed, zip({{"a.npy", entry, 8}}));
  expect_error<IoError>([&] { list_tensors(compressed); }, {compressed, "'a' is compressed", "deflate", "np.savez"});

  const std::string cut = path("cut.npz");
  write_file(cut, good.substr(0, good.size() - 10));
  expect_error<IoError>([&] { list_tensors(cut); }, {cut, "end-of-central-directory"});

  const std::string corrupt = path("corrupt.npz");
  std::string flipped = good;
  flipped[30 + 5 + entry.size() - 1] ^= 0x40;  // last data byte of the entry
  write_file(corrupt, flipped);
  expect_error<IoError>([&] { read_tensor(corrupt, "a"); }, {corrupt, "CRC-32"});

  const std::string bad_cd = path("bad_cd.npz");
  std::string moved = good;
  const std::size_t cd_offset_at = moved.size() - 6;  // EOCD: central directory offset field
  const std::uint32_t far = 1u << 30;
  std::memcpy(&moved[cd_offset_at], &far, 4);
  write_file(bad_cd, moved);
  expect_error<IoError>([&] { list_tensors(bad_cd); }, {bad_cd, "outside the file"});

  const std::string bad_entry = path("bad_entry.npz");
  write_file(bad_entry, zip({{"a.npy", "not an npy at all"}}));
  expect_error<IoError>([&] { list_tensors(bad_entry); }, {"entry 'a'", "magic"});
}

// ---- HDF5 ------------------------------------------------------------------------------------------
TEST_F(TensorFileTest, Hdf5DatasetsInGroups) {
  const std::string p = path("layers.h5");
  {
    H5::H5File f(p, H5F_ACC_TRUNC);
    H5::Group g = f.createGroup("/model");
    hsize_t dims[2] = {2, 3};
    H5::DataSpace space(2, dims);
    const float w[6] = {1, 2, 3, 4, 5, 6};
    g.createDataSet("fc1", H5::PredType::IEEE_F32LE, space).write(w, H5::PredType::NATIVE_FLOAT);
    const double nan[6] = {1, 2, std::numeric_limits<double>::quiet_NaN(), 4, 5, 6};
    f.createDataSet("bad", H5::PredType::IEEE_F64LE, space).write(nan, H5::PredType::NATIVE_DOUBLE);
    H5::StrType str(H5::PredType::C_S1, 8);
    hsize_t one[1] = {1};
    f.createDataSet("name", str, H5::DataSpace(1, one)).write("abcdefgh", str);
  }
  const auto infos = list_tensors(p);
  std::vector<std::string> names;
  for (const auto& t : infos) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"bad", "model/fc1"}));  // the string dataset is not a tensor
  Weights want(2, 3);
  want << 1, 2, 3, 4, 5, 6;
  EXPECT_EQ(read_matrix(p, "model/fc1"), want);
  EXPECT_EQ(read_matrix(p, "/model/fc1"), want);
  EXPECT_EQ(tensor_info(p, "model/fc1").dtype, DType::f32);
  expect_error<TensorError>([&] { read_matrix(p, "bad"); }, {p, "non-finite", "[0, 2]"});
  expect_error<TensorError>([&] { read_tensor(p, "model/fc9"); }, {"no tensor 'model/fc9'", "model/fc1"});
  expect_error<TensorError>([&] { read_tensor(p, "name"); }, {"unsupported dtype"});

  // A truncated HDF5 file: an IoError (or a missing dataset), never a crash or an HDF5 error dump.
  const std::string whole = read_file(p);
  for (std::size_t len : {std::size_t(8), std::size_t(600), whole.size() / 2, whole.size() - 100}) {
    const std::string cut = path("cut.h5");
    write_file(cut, whole.substr(0, len));
    EXPECT_THROW(read_matrix(cut, "model/fc1"), Error) << "truncated to " << len << " bytes";
  }

  const std::string fake = path("fake.h5");
  write_file(fake, "not hdf5");
  expect_error<IoError>([&] { list_tensors(fake); }, {fake, "not an HDF5 file"});
}

// ---- globs -----------------------------------------------------------------------------------------
TEST_F(TensorFileTest, GlobExpandsInNaturalOrder) {
  const std::string p = path("m.safetensors");
  std::vector<NamedTensor> ts;
  for (int i : {10, 2, 0, 1}) {
    ts.push_back(NamedTensor{"layers." + std::to_string(i) + ".weight", {1}, {1}});
    ts.push_back(NamedTensor{"layers." + std::to_string(i) + ".bias", {1}, {1}});
  }
  write_safetensors(p, ts);
  EXPECT_EQ(expand_tensor_glob(p, "layers.*.weight"),
            (std::vector<std::string>{"layers.0.weight", "layers.1.weight", "layers.2.weight", "layers.10.weight"}));
  EXPECT_EQ(expand_tensor_glob(p, "layers.?.bias").size(), 3u);
  EXPECT_EQ(expand_tensor_glob(p, "layers.[12].weight"), (std::vector<std::string>{"layers.1.weight", "layers.2.weight"}));
  EXPECT_EQ(expand_tensor_glob(p, "layers.2.bias"), (std::vector<std::string>{"layers.2.bias"}));
  EXPECT_TRUE(is_tensor_glob("a.*"));
  EXPECT_FALSE(is_tensor_glob("a.b"));
  expect_error<TensorError>([&] { expand_tensor_glob(p, "encoder.*"); }, {"no tensor 'encoder.*'", "layers.10.bias"});
}

// ---- robustness: no truncation or byte flip may crash ---------------------------------------------
TEST_F(TensorFileTest, EveryTruncationIsAnErrorAndFlipsNeverCrash) {
  const std::string st = safetensors(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})", floats({1, 2, 3, 4}));
  const std::string np = npy("<f4", false, "(2, 2)", floats({1, 2, 3, 4}));
  const std::string nz = zip({{"w.npy", np}});
  const std::vector<std::pair<std::string, std::string>> files = {
      {"t.safetensors", st}, {"t.npy", np}, {"t.npz", nz}};
  for (const auto& [name, bytes] : files) {
    SCOPED_TRACE(name);
    const std::string p = path(name);
    const std::string tensor = name == "t.npy" ? "" : "w";
    for (std::size_t len = 0; len < bytes.size(); ++len) {
      write_file(p, bytes.substr(0, len));
      EXPECT_THROW(read_tensor(p, tensor), Error) << "truncated to " << len << " bytes";
    }
    std::mt19937 gen(7);
    for (int trial = 0; trial < 80; ++trial) {
      std::string b = bytes;
      b[gen() % b.size()] ^= char(1u << (gen() % 8));
      write_file(p, b);
      try {
        read_tensor(p, tensor, false);
      } catch (const Error&) {
      }  // a flipped byte may be harmless (a data value) or an error, never a crash
    }
  }
}

// ---- cross-check with numpy (skipped when Debian's numpy is absent) --------------------------------
TEST_F(TensorFileTest, NumpyWrittenFilesMatchAndNumpyReadsOurSafetensors) {
  if (!fs::exists("/usr/bin/python3") || std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with numpy is not installed";
  Weights W(3, 8);
  // Correctly rounded IEEE arithmetic, so numpy and C++ compute identical values.
  for (Index i = 0; i < W.size(); ++i) W.data()[i] = (double((i * 7) % 24) - 11.5) * 0.3;
  const std::string ours = path("ours.safetensors");
  write_safetensors(ours, {named_matrix("w", W)}, {{"format", "pt"}});
  const std::string script = path("x.py");
  write_file(script, R"(import json, struct, sys, numpy as np
d = sys.argv[1]
w = (((np.arange(24) * 7) % 24).astype(np.float64) - 11.5).reshape(3, 8) * 0.3
np.save(d + '/f.npy', np.asfortranarray(w.astype('<f4')))
np.save(d + '/h.npy', w.astype('<f2'))
np.savez(d + '/z.npz', w=w, mask=(w > 0))
np.savez_compressed(d + '/zc.npz', w=w)
raw = open(d + '/ours.safetensors', 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
h = json.loads(raw[8:8 + n])
b, e = h['w']['data_offsets']
r = np.frombuffer(raw[8 + n + b:8 + n + e], dtype='<f4').reshape(h['w']['shape'])
assert h['__metadata__'] == {'format': 'pt'}
assert np.array_equal(r, w.astype('<f4')), 'numpy reads different values'
)");
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + dir_.string()).c_str()), 0);

  const Weights F = read_matrix(path("f.npy"), "");
  const Weights Hh = read_matrix(path("h.npy"), "");
  const Weights Z = read_matrix(path("z.npz"), "w");
  const Tensor mask = read_tensor(path("z.npz"), "mask");
  for (Index i = 0; i < W.size(); ++i) {
    const double w = W.data()[i];
    EXPECT_EQ(F.data()[i], double(float(w)));
    EXPECT_EQ(Z.data()[i], w);
    EXPECT_EQ(mask.data[std::size_t(i)], w > 0 ? 1.0 : 0.0);
    EXPECT_NEAR(Hh.data()[i], w, std::ldexp(std::abs(w), -10));  // f16 keeps 11 significant bits
  }
  expect_error<IoError>([&] { read_tensor(path("zc.npz"), "w"); }, {"compressed", "np.savez"});
}

}  // namespace
}  // namespace nmlab
