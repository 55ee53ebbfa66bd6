//===- NpyTest.cpp - .npy reading and writing -----------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Round trips for every supported dtype and rank, headers exactly as NumPy
// writes them (versions 1.0 and 2.0), and every class of bad file with the
// message it must give.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Runtime/Npy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace sparseloom {
namespace runtime {
namespace {

/// A .npy file as NumPy writes it: magic, version, header padded to 64.
std::vector<uint8_t> npyFile(const std::string &dict, const void *data,
                             size_t bytes, int major = 1) {
  size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), 0};
  size_t len = header.size();
  for (size_t i = 0; i < prefix - 8; ++i)
    out.push_back(uint8_t(len >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  const auto *p = static_cast<const uint8_t *>(data);
  out.insert(out.end(), p, p + bytes);
  return out;
}

TEST(Npy, ParsesWhatNumpyWrites) {
  const float values[6] = {1, 2, 3, 4, 5, 6};
  std::vector<uint8_t> file =
      npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
              values, sizeof(values));
  NpyArray a;
  std::string error;
  ASSERT_TRUE(parseNpy(file.data(), file.size(), a, error)) << error;
  EXPECT_EQ(a.dtype, SL_DTYPE_FLOAT32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.floats()[5], 6.f);

  const int64_t ids[3] = {7, -1, 1LL << 40};
  file = npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                 ids, sizeof(ids), 2);
  ASSERT_TRUE(parseNpy(file.data(), file.size(), a, error)) << error;
  EXPECT_EQ(a.dtype, SL_DTYPE_INT64);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3}));
  int64_t back[3];
  std::memcpy(back, a.data.data(), sizeof(back));
  EXPECT_EQ(back[2], 1LL << 40);

  const uint8_t flag = 1;
  file = npyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (), }",
                 &flag, 1);
  ASSERT_TRUE(parseNpy(file.data(), file.size(), a, error)) << error;
  EXPECT_EQ(a.dtype, SL_DTYPE_BOOL);
  EXPECT_TRUE(a.shape.empty());
  EXPECT_EQ(a.numElements(), 1u);
}

TEST(Npy, RoundTripsEveryDtype) {
  const sl_dtype dtypes[] = {SL_DTYPE_FLOAT32, SL_DTYPE_INT64, SL_DTYPE_INT32,
                             SL_DTYPE_BOOL,    SL_DTYPE_UINT8, SL_DTYPE_INT8};
  const std::vector<std::vector<int64_t>> shapes = {
      {}, {5}, {2, 3}, {1, 3, 2, 2}, {0, 4}};
  for (sl_dtype d : dtypes) {
    for (const auto &shape : shapes) {
      NpyArray a;
      a.dtype = d;
      a.shape = shape;
      a.data.resize(a.numElements() * sl_dtype_size(d));
      for (size_t i = 0; i < a.data.size(); ++i)
        a.data[i] = uint8_t(d == SL_DTYPE_BOOL ? i % 2 : i * 37 + 1);
      std::vector<uint8_t> bytes = serializeNpy(a);
      // Data starts 64-byte aligned, as NumPy's writer does.
      EXPECT_EQ((bytes.size() - a.data.size()) % 64, 0u);
      NpyArray b;
      std::string error;
      ASSERT_TRUE(parseNpy(bytes.data(), bytes.size(), b, error)) << error;
      EXPECT_EQ(b.dtype, a.dtype);
      EXPECT_EQ(b.shape, a.shape);
      EXPECT_EQ(b.data, a.data);
    }
  }
}

TEST(Npy, RejectsBadFilesWithReasons) {
  const float values[4] = {1, 2, 3, 4};
  struct Case {
    std::vector<uint8_t> file;
    const char *reason;
  } cases[] = {
      {npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
               values, 16),
       "Fortran-order arrays are not supported"},
      {npyFile("{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }",
               values, 16),
       "big-endian data ('>f4') is not supported"},
      {npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
               values, 16),
       "unsupported dtype '<f8'"},
      {npyFile("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }",
               values, 12),
       "unsupported dtype '<U3'"},
      {npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
               values, 16),
       "truncated data: 16 bytes present, the shape needs 24"},
      {npyFile("{'descr': '<f4', 'shape': (4,), }", values, 16),
       "needs 'descr', 'fortran_order' and 'shape'"},
      {npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }",
               values, 16),
       "bad dimension"},
      {npyFile("[1, 2]", values, 16), "expected a dict"},
      {{'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0}, "not a .npy file"},
  };
  for (const Case &c : cases) {
    NpyArray a;
    std::string error;
    EXPECT_FALSE(parseNpy(c.file.data(), c.file.size(), a, error)) << c.reason;
    EXPECT_NE(error.find(c.reason), std::string::npos) << error;
  }
  // Truncated header at every length.
  std::vector<uint8_t> good = npyFile(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", values, 16);
  for (size_t len = 0; len < good.size(); ++len) {
    NpyArray a;
    std::string error;
    EXPECT_FALSE(parseNpy(good.data(), len, a, error)) << len;
    EXPECT_FALSE(error.empty());
  }
}

TEST(Npy, FilesAreWrittenAtomically) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "sparseloom-npy-test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  NpyArray a = NpyArray::fromFloats({2, 2}, {1, 2, 3, 4});
  std::string error;
  std::string path = (dir / "a.npy").string();
  ASSERT_TRUE(writeNpy(path, a, error)) << error;
  NpyArray b;
  ASSERT_TRUE(readNpy(path, b, error)) << error;
  EXPECT_EQ(b.data, a.data);
  // Only the file itself is left in the directory.
  size_t entries = 0;
  for (auto &e : fs::directory_iterator(dir)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
  // Errors name the path.
  EXPECT_FALSE(readNpy((dir / "missing.npy").string(), b, error));
  EXPECT_NE(error.find("missing.npy: cannot open"), std::string::npos) << error;
  EXPECT_FALSE(writeNpy((dir / "no" / "such" / "dir.npy").string(), a, error));
  EXPECT_NE(error.find("cannot write"), std::string::npos) << error;
  std::ofstream(dir / "bad.npy") << "not numpy";
  EXPECT_FALSE(readNpy((dir / "bad.npy").string(), b, error));
  EXPECT_NE(error.find("bad.npy: not a .npy file"), std::string::npos) << error;
  fs::remove_all(dir);
}

} // namespace
} // namespace runtime
} // namespace sparseloom
