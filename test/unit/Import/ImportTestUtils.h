//===- ImportTestUtils.h - Helpers for the ONNX import tests ----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Shared by the ImportTests sources: build ONNX protos from ONNX's textual
// syntax (so tests read like the models they describe), turn results into
// strings gtest can compare, a self-removing temporary directory, and the
// round-trip assertion import(export(m)) == m.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TEST_UNIT_IMPORT_IMPORTTESTUTILS_H
#define SPARSELOOM_TEST_UNIT_IMPORT_IMPORTTESTUTILS_H

#include "ModuleComparison.h"

#include "sparseloom/Export/OnnxExporter.h"
#include "sparseloom/IR/Printer.h"
#include "sparseloom/Import/OnnxImporter.h"

#include "onnx/defs/parser.h"
#include "onnx/onnx_pb.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <memory>
#include <string>

namespace sparseloom {
namespace import_test {

/// Parses ONNX text into a proto (for tests that edit the proto before
/// importing it as bytes). Fails the test on a parse error.
inline onnx::ModelProto parseModelText(const char *text) {
  onnx::ModelProto model;
  auto status = onnx::OnnxParser::Parse(model, text);
  EXPECT_TRUE(status.IsOK()) << status.ErrorMessage();
  if (model.ir_version() == 0)
    model.set_ir_version(8);
  return model;
}

inline std::string serialize(const onnx::ModelProto &model) {
  std::string bytes;
  EXPECT_TRUE(model.SerializeToString(&bytes));
  return bytes;
}

/// The diagnostic text of a failed result, or "<success>".
// A model whose weight W (2x3 floats) lives in `location` at `offset`.
inline onnx::ModelProto externalModel(const std::string &location, int offset) {
  onnx::ModelProto proto = parseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] X) => (float[2,3] Y) { Y = Add(X, W) }
  )");
  onnx::TensorProto &w = *proto.mutable_graph()->add_initializer();
  w.set_name("W");
  w.set_data_type(onnx::TensorProto::FLOAT);
  w.add_dims(2);
  w.add_dims(3);
  w.set_data_location(onnx::TensorProto::EXTERNAL);
  auto entry = [&](const char *key, const std::string &value) {
    auto *e = w.add_external_data();
    e->set_key(key);
    e->set_value(value);
  };
  entry("location", location);
  entry("offset", std::to_string(offset));
  entry("length", "24");
  return proto;
}

template <typename T> std::string errorOf(llvm::Expected<T> result) {
  if (result)
    return "<success>";
  return llvm::toString(result.takeError());
}
inline std::string errorOf(llvm::Error err) {
  if (!err)
    return "<success>";
  return llvm::toString(std::move(err));
}

/// Imports text that must import; fails the test otherwise.
inline std::unique_ptr<Module> importTextOk(const char *text,
                                            const ImportOptions &options = {}) {
  auto module = importOnnxText(text, "", options);
  if (!module) {
    ADD_FAILURE() << llvm::toString(module.takeError());
    return nullptr;
  }
  return std::move(*module);
}

inline std::unique_ptr<Module>
importProtoOk(const onnx::ModelProto &model,
              const ImportOptions &options = {}) {
  auto module = importOnnxBytes(serialize(model), "", options);
  if (!module) {
    ADD_FAILURE() << llvm::toString(module.takeError());
    return nullptr;
  }
  return std::move(*module);
}

/// The lossless textual form (every weight value printed).
inline std::string printAll(const Module &module) {
  PrintOptions options;
  options.elideWeightsAbove = -1;
  return printModuleToString(module, options);
}

/// Exports `module`, imports the bytes again and expects the same Module,
/// both structurally and as printed IR.
inline void expectRoundTrip(const Module &module) {
  auto bytes = exportOnnxBytes(module);
  ASSERT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
  auto again = importOnnxBytes(*bytes, "");
  ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
  EXPECT_EQ(testsupport::describeModuleDifference(module, **again), "");
  EXPECT_EQ(printAll(module), printAll(**again));
}

/// A fresh directory, removed with its contents at the end of the test.
class TempDir {
public:
  TempDir() {
    std::error_code ec =
        llvm::sys::fs::createUniqueDirectory("sparseloom-import", path_);
    EXPECT_FALSE(ec) << ec.message();
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path_); }
  std::string path() const { return path_.str().str(); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<256> p(path_);
    llvm::sys::path::append(p, name);
    return p.str().str();
  }
  void write(llvm::StringRef name, llvm::StringRef bytes) const {
    std::error_code ec;
    llvm::raw_fd_ostream os(file(name), ec);
    ASSERT_FALSE(ec) << ec.message();
    os << bytes;
  }

private:
  llvm::SmallString<128> path_;
};

/// Raw little-endian bytes of a vector of trivially copyable values.
template <typename T> std::string rawBytes(const std::vector<T> &values) {
  return std::string(reinterpret_cast<const char *>(values.data()),
                     values.size() * sizeof(T));
}

} // namespace import_test
} // namespace sparseloom

#endif // SPARSELOOM_TEST_UNIT_IMPORT_IMPORTTESTUTILS_H
