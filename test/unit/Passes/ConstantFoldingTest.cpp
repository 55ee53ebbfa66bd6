//===- ConstantFoldingTest.cpp - Tests of canonicalize's evaluators -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The reference evaluators behind canonicalize's constant folding, called
// directly on small tensors whose results are worked out by hand: the ONNX
// edge cases shape code relies on (Slice clamping with INT64_MAX and negative
// steps, Reshape's 0 and -1, negative Gather indices, integer division
// truncation, broadcasting), the element-count cap, and model errors.
//
//===----------------------------------------------------------------------===//

#include "ConstantFolding.h"

#include "gtest/gtest.h"

#include <cstring>
#include <limits>
#include <string>
#include <vector>

using namespace sparseloom;

namespace {

constexpr int64_t kNoCap = 1 << 20;

TensorDataRef ints(std::vector<int64_t> dims, std::vector<int64_t> values) {
  return TensorData::fromInt64s(std::move(dims), values);
}
TensorDataRef floats(std::vector<int64_t> dims, std::vector<float> values) {
  return TensorData::fromFloats(std::move(dims), values);
}
TensorDataRef int32s(std::vector<int64_t> dims, std::vector<int32_t> values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return TensorData::createDense(DType::I32, std::move(dims), std::move(bytes));
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[size_t(i)] = i;
  return v;
}

Node makeNode(const std::string &op, size_t numInputs, AttributeMap attrs = {},
              size_t numOutputs = 1) {
  Node node;
  node.opType = op;
  node.name = "/test/" + op;
  for (size_t i = 0; i < numInputs; ++i)
    node.inputs.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < numOutputs; ++i)
    node.outputs.push_back("out" + std::to_string(i));
  node.attributes = std::move(attrs);
  return node;
}

/// Evaluates and expects a single folded result.
TensorDataRef fold(const Node &node, std::vector<TensorDataRef> inputs,
                   int64_t opset = 13) {
  std::vector<TensorDataRef> results;
  auto folded = folding::evaluateNode(node, inputs, opset, kNoCap, results);
  if (!folded) {
    ADD_FAILURE() << llvm::toString(folded.takeError());
    return nullptr;
  }
  if (!*folded || results.size() != 1) {
    ADD_FAILURE() << node.opType << " was not folded";
    return nullptr;
  }
  return results[0];
}

/// Evaluates and expects an error; returns its message.
std::string foldError(const Node &node, std::vector<TensorDataRef> inputs,
                      int64_t opset = 13) {
  std::vector<TensorDataRef> results;
  auto folded = folding::evaluateNode(node, inputs, opset, kNoCap, results);
  if (folded) {
    ADD_FAILURE() << node.opType << " did not fail";
    return "";
  }
  return llvm::toString(folded.takeError());
}

#define EXPECT_INTS(tensor, dimsExpected, valuesExpected)                      \
  do {                                                                         \
    TensorDataRef t_ = (tensor);                                               \
    ASSERT_NE(t_, nullptr);                                                    \
    EXPECT_EQ(t_->dims(), std::vector<int64_t>(dimsExpected));                 \
    EXPECT_EQ(t_->toInt64s(), std::vector<int64_t>(valuesExpected));           \
  } while (false)

using V = std::vector<int64_t>;

TEST(ConstantFolding, SliceClampsAndSteps) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  const int64_t min = std::numeric_limits<int64_t>::min();
  Node slice = makeNode("Slice", 5);
  // x[1:] written by exporters as ends = INT64_MAX.
  EXPECT_INTS(fold(slice, {ints({10}, iota(10)), ints({1}, {1}),
                           ints({1}, {max}), nullptr, nullptr}),
              V{9}, (V{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  // x[::-2] from the end: start -1, end INT64_MIN, step -2.
  EXPECT_INTS(fold(slice, {ints({10}, iota(10)), ints({1}, {-1}),
                           ints({1}, {min}), ints({1}, {0}), ints({1}, {-2})}),
              V{5}, (V{9, 7, 5, 3, 1}));
  // x[::-1]: the end clamps to -1, one before the first element.
  EXPECT_INTS(fold(slice, {ints({4}, iota(4)), ints({1}, {-1}),
                           ints({1}, {min}), nullptr, ints({1}, {-1})}),
              V{4}, (V{3, 2, 1, 0}));
  // 2-D: rows 0 and 2, columns 1..2 of a 3 x 4 matrix.
  EXPECT_INTS(
      fold(slice, {ints({3, 4}, iota(12)), ints({2}, {0, 1}), ints({2}, {3, 3}),
                   ints({2}, {0, -1}), ints({2}, {2, 1})}),
      (V{2, 2}), (V{1, 2, 9, 10}));
  // An empty range.
  EXPECT_INTS(fold(slice, {ints({4}, iota(4)), ints({1}, {3}), ints({1}, {1}),
                           nullptr, nullptr}),
              V{0}, V{});
  EXPECT_NE(foldError(slice, {ints({4}, iota(4)), ints({1}, {0}),
                              ints({1}, {2}), nullptr, ints({1}, {0})})
                .find("step is 0"),
            std::string::npos);
}

TEST(ConstantFolding, GatherAndErrors) {
  Node gather = makeNode("Gather", 2, {{"axis", int64_t(1)}});
  EXPECT_INTS(fold(gather, {ints({2, 3}, iota(6)), ints({2}, {2, -3})}),
              (V{2, 2}), (V{2, 0, 5, 3}));
  // Scalar index on a shape vector, as in x.size(0).
  Node gather0 = makeNode("Gather", 2);
  EXPECT_INTS(fold(gather0, {ints({4}, {8, 3, 5, 7}), int32s({}, {-1})}), V{},
              V{7});
  std::string message =
      foldError(gather0, {ints({4}, {8, 3, 5, 7}), ints({}, {4})});
  EXPECT_NE(message.find("/test/Gather"), std::string::npos) << message;
  EXPECT_NE(message.find("out of range"), std::string::npos) << message;
}

TEST(ConstantFolding, ReshapeZeroAndMinusOne) {
  Node reshape = makeNode("Reshape", 2);
  TensorDataRef r =
      fold(reshape, {floats({2, 3, 4}, std::vector<float>(24, 1.5f)),
                     ints({2}, {0, -1})});
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->dims(), (V{2, 12}));
  EXPECT_EQ(r->dtype(), DType::F32);
  EXPECT_EQ(r->toFloats(), std::vector<float>(24, 1.5f));
  EXPECT_NE(foldError(reshape, {ints({6}, iota(6)), ints({2}, {4, -1})})
                .find("cannot reshape"),
            std::string::npos);
  EXPECT_NE(foldError(reshape, {ints({6}, iota(6)), ints({2}, {-1, -1})})
                .find("more than one -1"),
            std::string::npos);
}

TEST(ConstantFolding, UnsqueezeSqueezeConcat) {
  EXPECT_INTS(fold(makeNode("Unsqueeze", 2), {ints({}, {5}), ints({1}, {0})}),
              V{1}, V{5});
  // Before opset 13 the axes were an attribute.
  EXPECT_INTS(fold(makeNode("Unsqueeze", 1, {{"axes", V{0, -1}}}),
                   {ints({2}, {1, 2})}, 11),
              (V{1, 2, 1}), (V{1, 2}));
  EXPECT_INTS(fold(makeNode("Squeeze", 1), {ints({1, 3, 1}, {4, 5, 6})}), V{3},
              (V{4, 5, 6}));
  EXPECT_INTS(fold(makeNode("Concat", 3, {{"axis", int64_t(-1)}}),
                   {ints({1}, {2}), ints({1}, {-1}), ints({0}, {})}),
              V{2}, (V{2, -1}));
  EXPECT_INTS(fold(makeNode("Concat", 2, {{"axis", int64_t(1)}}),
                   {ints({2, 1}, {1, 2}), ints({2, 2}, {3, 4, 5, 6})}),
              (V{2, 3}), (V{1, 3, 4, 2, 5, 6}));
  EXPECT_NE(
      foldError(makeNode("Squeeze", 2), {ints({2, 1}, {1, 2}), ints({1}, {0})})
          .find("cannot squeeze"),
      std::string::npos);
}

TEST(ConstantFolding, ArithmeticBroadcastsAndTruncates) {
  EXPECT_INTS(fold(makeNode("Div", 2), {ints({2}, {-7, 7}), ints({}, {2})}),
              V{2}, (V{-3, 3}));
  EXPECT_INTS(
      fold(makeNode("Mul", 2), {ints({2, 1}, {1, 2}), ints({3}, {1, 10, 100})}),
      (V{2, 3}), (V{1, 10, 100, 2, 20, 200}));
  // Division by zero has no defined result: not folded, not an error.
  std::vector<TensorDataRef> results;
  auto folded = folding::evaluateNode(makeNode("Div", 2),
                                      {ints({1}, {1}), ints({1}, {0})}, 13,
                                      kNoCap, results);
  ASSERT_TRUE(bool(folded));
  EXPECT_FALSE(*folded);
  // Mixed element types are not folded either.
  folded = folding::evaluateNode(makeNode("Add", 2),
                                 {ints({1}, {1}), int32s({1}, {1})}, 13, kNoCap,
                                 results);
  ASSERT_TRUE(bool(folded));
  EXPECT_FALSE(*folded);
  TensorDataRef sub = fold(makeNode("Sub", 2),
                           {floats({2}, {1.5f, 0.0f}), floats({1}, {0.25f})});
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(sub->toFloats(), (std::vector<float>{1.25f, -0.25f}));
}

TEST(ConstantFolding, EqualWhereNot) {
  TensorDataRef eq =
      fold(makeNode("Equal", 2), {ints({3}, {1, -1, 3}), ints({}, {-1})});
  ASSERT_NE(eq, nullptr);
  EXPECT_EQ(eq->dtype(), DType::Bool);
  EXPECT_EQ(eq->toInt64s(), (V{0, 1, 0}));
  // The torch pattern that replaces -1 in a shape by the real dimension.
  EXPECT_INTS(fold(makeNode("Where", 3),
                   {eq, ints({3}, {4, 5, 6}), ints({3}, {1, -1, 3})}),
              V{3}, (V{1, 5, 3}));
  TensorDataRef notEq = fold(makeNode("Not", 1), {eq});
  ASSERT_NE(notEq, nullptr);
  EXPECT_EQ(notEq->toInt64s(), (V{1, 0, 1}));
}

TEST(ConstantFolding, CastConvertsAndWraps) {
  TensorDataRef c = fold(makeNode("Cast", 1, {{"to", int64_t(DType::I64)}}),
                         {floats({3}, {1.7f, -1.7f, 0.0f})});
  EXPECT_INTS(c, V{3}, (V{1, -1, 0}));
  TensorDataRef narrow =
      fold(makeNode("Cast", 1, {{"to", int64_t(DType::I32)}}),
           {ints({1}, {(int64_t(1) << 32) + 5})});
  ASSERT_NE(narrow, nullptr);
  EXPECT_EQ(narrow->dtype(), DType::I32);
  EXPECT_EQ(narrow->toInt64s(), V{5});
  TensorDataRef f = fold(makeNode("Cast", 1, {{"to", int64_t(DType::F32)}}),
                         {ints({2}, {3, -4})});
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->toFloats(), (std::vector<float>{3.0f, -4.0f}));
}

TEST(ConstantFolding, SourcesAndMovement) {
  TensorDataRef filled =
      fold(makeNode("ConstantOfShape", 1, {{"value", ints({1}, {7})}}),
           {ints({2}, {2, 2})});
  EXPECT_INTS(filled, (V{2, 2}), (V{7, 7, 7, 7}));
  TensorDataRef zeros = fold(makeNode("ConstantOfShape", 1), {ints({1}, {3})});
  ASSERT_NE(zeros, nullptr);
  EXPECT_EQ(zeros->dtype(), DType::F32); // the default value is f32 0
  EXPECT_EQ(zeros->numNonZeros(), 0);

  EXPECT_INTS(fold(makeNode("Range", 3),
                   {ints({}, {10}), ints({}, {0}), ints({}, {-3})}),
              V{4}, (V{10, 7, 4, 1}));
  TensorDataRef fr =
      fold(makeNode("Range", 3),
           {floats({}, {0}), floats({}, {1}), floats({}, {0.25f})});
  ASSERT_NE(fr, nullptr);
  EXPECT_EQ(fr->toFloats(), (std::vector<float>{0.0f, 0.25f, 0.5f, 0.75f}));

  EXPECT_INTS(fold(makeNode("Transpose", 1, {{"perm", V{1, 0}}}),
                   {ints({2, 3}, iota(6))}),
              (V{3, 2}), (V{0, 3, 1, 4, 2, 5}));
  EXPECT_INTS(fold(makeNode("Expand", 2),
                   {ints({3, 1}, {1, 2, 3}), ints({3}, {2, 1, 2})}),
              (V{2, 3, 2}), (V{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
  EXPECT_INTS(fold(makeNode("Flatten", 1), {ints({2, 2, 2}, iota(8))}),
              (V{2, 4}), iota(8));
  EXPECT_INTS(fold(makeNode("ReduceSum", 2, {{"keepdims", int64_t(0)}}),
                   {ints({2, 3}, iota(6)), ints({1}, {1})}),
              V{2}, (V{3, 12}));

  std::vector<TensorDataRef> parts;
  auto split = folding::evaluateNode(makeNode("Split", 2, {}, 2),
                                     {ints({5}, iota(5)), ints({2}, {2, 3})},
                                     13, kNoCap, parts);
  ASSERT_TRUE(bool(split));
  ASSERT_TRUE(*split);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0]->toInt64s(), (V{0, 1}));
  EXPECT_EQ(parts[1]->toInt64s(), (V{2, 3, 4}));
}

TEST(ConstantFolding, RespectsTheElementCap) {
  std::vector<TensorDataRef> results;
  auto folded = folding::evaluateNode(makeNode("ConstantOfShape", 1),
                                      {ints({1}, {1000})}, 13, 999, results);
  ASSERT_TRUE(bool(folded));
  EXPECT_FALSE(*folded);
  // A huge request is refused before anything is allocated.
  folded = folding::evaluateNode(makeNode("ConstantOfShape", 1),
                                 {ints({3}, {1 << 30, 1 << 30, 1 << 30})}, 13,
                                 4096, results);
  ASSERT_TRUE(bool(folded));
  EXPECT_FALSE(*folded);
  folded = folding::evaluateNode(makeNode("ConstantOfShape", 1),
                                 {ints({1}, {999})}, 13, 999, results);
  ASSERT_TRUE(bool(folded));
  EXPECT_TRUE(*folded);
}

TEST(ConstantFolding, ShapeAndSizeFromTypes) {
  TensorType t(DType::F32, std::vector<Dim>{Dim::symbolic("N"), Dim::known(3),
                                            Dim::known(7)});
  std::vector<TensorDataRef> results;
  EXPECT_FALSE(
      folding::evaluateShapeOnlyNode(makeNode("Shape", 1), {t}, 13, results));
  EXPECT_FALSE(
      folding::evaluateShapeOnlyNode(makeNode("Size", 1), {t}, 13, results));
  Node tail = makeNode("Shape", 1, {{"start", int64_t(1)}});
  ASSERT_TRUE(folding::evaluateShapeOnlyNode(tail, {t}, 15, results));
  EXPECT_INTS(results[0], V{2}, (V{3, 7}));
  // start/end did not exist before opset 15.
  EXPECT_FALSE(folding::evaluateShapeOnlyNode(tail, {t}, 13, results));
  Node middle =
      makeNode("Shape", 1, {{"start", int64_t(1)}, {"end", int64_t(-1)}});
  ASSERT_TRUE(folding::evaluateShapeOnlyNode(middle, {t}, 15, results));
  EXPECT_INTS(results[0], V{1}, V{3});
  TensorType s = TensorType::get(DType::F32, {2, 3, 4});
  ASSERT_TRUE(
      folding::evaluateShapeOnlyNode(makeNode("Size", 1), {s}, 13, results));
  EXPECT_INTS(results[0], V{}, V{24});
}

TEST(ConstantFolding, ConstantNodeValues) {
  Node c = makeNode("Constant", 0, {{"value_ints", V{3, 4}}});
  auto v = folding::constantNodeValue(c);
  ASSERT_TRUE(bool(v));
  EXPECT_INTS(*v, V{2}, (V{3, 4}));
  Node s = makeNode("Constant", 0, {{"value_string", "abc"}});
  auto sv = folding::constantNodeValue(s);
  ASSERT_TRUE(bool(sv));
  EXPECT_EQ((*sv)->strings(), std::vector<std::string>{"abc"});
  Node bad = makeNode("Constant", 0, {{"value_float", V{1}}});
  auto err = folding::constantNodeValue(bad);
  ASSERT_FALSE(bool(err));
  llvm::consumeError(err.takeError());
}

} // namespace
