//===- ExportTest.cpp - ONNX export ---------------------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The exporter on Modules built directly (not only imported ones): what ends
// up in the ModelProto, what is dropped (annotations), what is refused
// (elided weights, models ONNX's checker rejects), and the atomic file write.
//
//===----------------------------------------------------------------------===//

#include "ImportTestUtils.h"

#include "llvm/Support/MemoryBuffer.h"

using namespace sparseloom;
using namespace sparseloom::import_test;

namespace {

/// Y = MatMul(X, W) + B with X: f32[N,3], W: f32[3,2] dense, B sparse.
std::unique_ptr<Module> buildModule() {
  auto m = std::make_unique<Module>();
  m->irVersion = 8;
  m->producerName = "sparseloom";
  m->opsetImports[""] = 13;
  Graph &g = m->graph;
  g.name = "mlp";
  g.inputs = {"X"};
  g.outputs = {"Y"};
  g.setType("X", TensorType(DType::F32, std::vector<Dim>{Dim::symbolic("N"),
                                                         Dim::known(3)}));
  g.setWeight({"W", TensorData::fromFloats({3, 2}, {1, 0, 0, 2, 3, 0}), {}});
  std::vector<float> b = {0.5f};
  std::vector<uint8_t> bBytes(4);
  std::memcpy(bBytes.data(), b.data(), 4);
  g.setWeight(
      {"B", TensorData::createSparseCoo(DType::F32, {2}, {1}, bBytes), {}});
  Node mm;
  mm.opType = "MatMul";
  mm.name = "mm";
  mm.inputs = {"X", "W"};
  mm.outputs = {"H"};
  g.addNode(mm);
  g.setType("H", TensorType(DType::F32, std::vector<Dim>{Dim::symbolic("N"),
                                                         Dim::known(2)}));
  Node add;
  add.opType = "Add";
  add.inputs = {"H", "B"};
  add.outputs = {"Y"};
  g.addNode(add);
  g.setType("Y", TensorType(DType::F32, std::vector<Dim>{Dim::symbolic("N"),
                                                         Dim::known(2)}));
  return m;
}

TEST(OnnxExport, ModelContents) {
  auto module = buildModule();
  auto bytes = exportOnnxBytes(*module);
  ASSERT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(*bytes));
  EXPECT_EQ(proto.ir_version(), 8);
  EXPECT_EQ(proto.producer_name(), "sparseloom");
  ASSERT_EQ(proto.opset_import_size(), 1);
  EXPECT_EQ(proto.opset_import(0).version(), 13);
  const onnx::GraphProto &g = proto.graph();
  EXPECT_EQ(g.name(), "mlp");
  ASSERT_EQ(g.input_size(), 1); // weights are not inputs at IR version 8
  EXPECT_EQ(g.input(0).type().tensor_type().shape().dim(0).dim_param(), "N");
  ASSERT_EQ(g.initializer_size(), 1);
  EXPECT_EQ(g.initializer(0).name(), "W");
  EXPECT_EQ(g.initializer(0).raw_data(),
            rawBytes(std::vector<float>{1, 0, 0, 2, 3, 0}));
  ASSERT_EQ(g.sparse_initializer_size(), 1);
  EXPECT_EQ(g.sparse_initializer(0).values().name(), "B");
  ASSERT_EQ(g.node_size(), 2);
  EXPECT_EQ(g.node(0).name(), "mm");
  EXPECT_FALSE(g.node(1).has_name());
  // The intermediate H is typed in value_info; Y is an output.
  ASSERT_EQ(g.value_info_size(), 1);
  EXPECT_EQ(g.value_info(0).name(), "H");
  EXPECT_EQ(g.output(0).name(), "Y");

  auto again = importOnnxBytes(*bytes, "");
  ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
  EXPECT_EQ(testsupport::describeModuleDifference(*module, **again), "");
}

TEST(OnnxExport, AnnotationsAreDropped) {
  auto module = buildModule();
  auto bare = module->clone();
  module->annotations["density"] = Attribute(0.5);
  module->graph.findWeight("W")->annotations["pattern"] =
      Attribute("unstructured");
  const_cast<Node &>(*module->graph.nodes()[0]).annotations["segment"] =
      Attribute(1);
  auto bytes = exportOnnxBytes(*module);
  ASSERT_TRUE(bool(bytes));
  auto again = importOnnxBytes(*bytes, "");
  ASSERT_TRUE(bool(again));
  EXPECT_EQ(testsupport::describeModuleDifference(*bare, **again), "");
}

TEST(OnnxExport, ValuesOfUnknownTypeGetNoValueInfo) {
  auto module = buildModule();
  module->graph.setType("H", TensorType());
  auto bytes = exportOnnxBytes(*module);
  ASSERT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(*bytes));
  EXPECT_EQ(proto.graph().value_info_size(), 0);
  // Shape inference finds the type again on import.
  auto again = importOnnxBytes(*bytes, "");
  ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
  EXPECT_EQ(formatType((*again)->graph.getType("H")), "f32[N,2]");
}

TEST(OnnxExport, ElidedWeightsAreRefused) {
  auto module = buildModule();
  module->graph.setWeight(
      {"W", TensorData::createElided(DType::F32, {3, 2}, 3, 42), {}});
  EXPECT_EQ(errorOf(exportOnnxBytes(*module)),
            "weight W has elided values; print IR with --print-weights=all");

  auto withConstant = buildModule();
  Node c;
  c.opType = "Constant";
  c.name = "const0";
  c.outputs = {"K"};
  c.attributes["value"] =
      Attribute(TensorData::createElided(DType::F32, {64}, 64, 7));
  withConstant->graph.insertNode(0, c);
  EXPECT_EQ(errorOf(exportOnnxBytes(*withConstant)),
            "node const0: attribute 'value' has elided values; print IR with "
            "--print-weights=all");
}

TEST(OnnxExport, CheckerRunsWhenAsked) {
  auto module = buildModule();
  const_cast<Node &>(*module->graph.nodes()[1]).opType = "NoSuchOp";
  std::string error = errorOf(exportOnnxBytes(*module));
  EXPECT_EQ(
      error.rfind("the exported model fails the ONNX checker: No Op registered "
                  "for NoSuchOp with domain_version of 13",
                  0),
      0u)
      << error;
  ExportOptions unchecked;
  unchecked.runChecker = false;
  EXPECT_EQ(errorOf(exportOnnxBytes(*module, unchecked)), "<success>");
}

TEST(OnnxExport, OldIrVersionListsWeightsAsInputs) {
  auto module = buildModule();
  module->irVersion = 3;
  auto bytes = exportOnnxBytes(*module);
  ASSERT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(*bytes));
  ASSERT_EQ(proto.graph().input_size(), 3);
  EXPECT_EQ(proto.graph().input(1).name(), "W");
  EXPECT_EQ(proto.graph().input(2).name(), "B");
}

std::vector<std::string> listDir(const std::string &path) {
  std::vector<std::string> names;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(path, ec), end; it != end && !ec;
       it.increment(ec))
    names.push_back(llvm::sys::path::filename(it->path()).str());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(OnnxExport, FileIsWrittenAtomically) {
  TempDir dir;
  auto module = buildModule();
  ASSERT_EQ(errorOf(exportOnnxFile(*module, dir.file("out.onnx"))),
            "<success>");
  EXPECT_EQ(listDir(dir.path()), std::vector<std::string>{"out.onnx"});
  auto again = importOnnxFile(dir.file("out.onnx"));
  ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
  EXPECT_EQ(testsupport::describeModuleDifference(*module, **again), "");

  // A failed export leaves the previous file alone and no temporary behind.
  module->graph.setWeight(
      {"W", TensorData::createElided(DType::F32, {3, 2}, 3, 42), {}});
  EXPECT_EQ(errorOf(exportOnnxFile(*module, dir.file("out.onnx"))),
            "weight W has elided values; print IR with --print-weights=all");
  EXPECT_EQ(listDir(dir.path()), std::vector<std::string>{"out.onnx"});
  EXPECT_TRUE(bool(importOnnxFile(dir.file("out.onnx"))));

  std::string missing = dir.file("no/such/dir/out.onnx");
  EXPECT_EQ(errorOf(exportOnnxFile(*buildModule(), missing)),
            "cannot write '" + missing + "': No such file or directory");
  EXPECT_EQ(listDir(dir.path()), std::vector<std::string>{"out.onnx"});

  // The target is a directory: the rename fails and the temporary is removed.
  std::string sub = dir.file("sub");
  ASSERT_FALSE(llvm::sys::fs::create_directory(sub));
  EXPECT_EQ(errorOf(exportOnnxFile(*buildModule(), sub)),
            "cannot write '" + sub + "': Is a directory");
  EXPECT_EQ(listDir(dir.path()), (std::vector<std::string>{"out.onnx", "sub"}));
}

} // namespace
