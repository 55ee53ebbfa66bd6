//===- ModuleComparisonTest.cpp - The round-trip comparison finds changes -===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The round-trip tests (here and in the conformance smoke test) are only as
// strict as describeModuleDifference(); these cases make sure it notices the
// losses an exporter or importer could plausibly cause.
//
//===----------------------------------------------------------------------===//

#include "ImportTestUtils.h"

using namespace sparseloom;
using namespace sparseloom::import_test;

namespace {

std::unique_ptr<Module> sample() {
  return importTextOk(R"(
    <ir_version: 8, opset_import: ["" : 13], producer_name: "p">
    g (float[N,3] X) => (float[N,2] Y) <float[3,2] W = {1, 0, 0, 2, 0, 0}> {
      H = MatMul(X, W)
      Y = LeakyRelu <alpha = 0.5> (H)
    }
  )");
}

Node &node(Module &m, size_t i) {
  return const_cast<Node &>(*m.graph.nodes()[i]);
}

TEST(ModuleComparison, IdenticalModules) {
  auto a = sample(), b = sample();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(testsupport::describeModuleDifference(*a, *b), "");
  EXPECT_EQ(testsupport::describeModuleDifference(*a, *a->clone()), "");
}

TEST(ModuleComparison, FindsEachKindOfDifference) {
  auto base = sample();
  ASSERT_TRUE(base);
  auto differs = [&](auto mutate) {
    auto changed = base->clone();
    mutate(*changed);
    return testsupport::describeModuleDifference(*base, *changed);
  };
  EXPECT_EQ(differs([](Module &m) { m.opsetImports[""] = 14; }),
            "opset imports differ ( '':13 vs '':14)");
  EXPECT_EQ(differs([](Module &m) { m.metadata.emplace_back("k", "v"); }),
            "metadata_props differ");
  EXPECT_EQ(
      differs(
          [](Module &m) { node(m, 1).attributes["alpha"] = Attribute(0.25f); }),
      "node #1 (LeakyRelu producing 'Y') attribute: 'alpha' differs: float 0.5 "
      "vs float 0.25");
  EXPECT_EQ(differs([](Module &m) { node(m, 0).name = "mm"; }),
            "node #0 (MatMul producing 'H'): name differs ('' vs 'mm')");
  EXPECT_EQ(differs([](Module &m) { node(m, 0).inputs.push_back(""); }),
            "node #0 (MatMul producing 'H'): inputs differ ([X,W] vs [X,W,])");
  EXPECT_EQ(differs([](Module &m) {
              m.graph.setType(
                  "H", TensorType(DType::F32, std::vector<Dim>{Dim::unknown(),
                                                               Dim::known(2)}));
            }),
            "type of 'H' differs (f32[N,2] vs f32[?,2])");
  // Same values, other storage: a sparse weight that came back dense.
  EXPECT_EQ(differs([](Module &m) {
              auto w = m.graph.findWeight("W")->data;
              std::vector<uint8_t> values(8);
              std::vector<float> nz = {1, 2};
              std::memcpy(values.data(), nz.data(), 8);
              m.graph.setWeight({"W",
                                 TensorData::createSparseCoo(
                                     DType::F32, w->dims(), {0, 3}, values),
                                 {}});
            }),
            "weight 'W': storage kind differs (0 vs 1)");
  EXPECT_EQ(
      differs([](Module &m) {
        m.graph.setWeight(
            {"W", TensorData::fromFloats({3, 2}, {1, 0, 0, 2, 0, 1}), {}});
      }),
      "weight 'W': contents differ");
}

} // namespace
