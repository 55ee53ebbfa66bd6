//===- TensorDataTest.cpp - Tests of tensor storage -----------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/TensorData.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace sparseloom;

namespace {

TEST(TensorData, DenseCountsNonZerosAndDensity) {
  auto t = TensorData::fromFloats({2, 3}, {0.f, 1.f, -0.f, 2.f, 0.f, 3.f});
  EXPECT_EQ(t->numElements(), 6);
  EXPECT_EQ(t->numNonZeros(), 3); // -0.0 is numerically zero
  EXPECT_DOUBLE_EQ(t->density(), 0.5);
  EXPECT_EQ(t->type(), TensorType::get(DType::F32, {2, 3}));
}

TEST(TensorData, SparseCooMaterializesAndHashesLikeDense) {
  auto dense = TensorData::fromFloats({4}, {0.f, 5.f, 0.f, 7.f});
  float values[] = {5.f, 7.f};
  std::vector<uint8_t> bytes(sizeof values);
  std::memcpy(bytes.data(), values, sizeof values);
  auto sparse = TensorData::createSparseCoo(DType::F32, {4}, {1, 3}, bytes);
  EXPECT_EQ(sparse->kind(), TensorData::Kind::SparseCoo);
  EXPECT_EQ(sparse->denseBytes(), dense->denseBytes());
  EXPECT_EQ(sparse->contentHash(), dense->contentHash());
  EXPECT_EQ(sparse->numNonZeros(), 2);
  EXPECT_EQ(sparse->elementAsDouble(3), 7.0);
  EXPECT_EQ(sparse->elementAsDouble(2), 0.0);
}

TEST(TensorData, HashDependsOnValuesShapeAndType) {
  auto a = TensorData::fromFloats({2, 2}, {1, 2, 3, 4});
  EXPECT_NE(a->contentHash(),
            TensorData::fromFloats({2, 2}, {1, 2, 3, 5})->contentHash());
  EXPECT_NE(a->contentHash(),
            TensorData::fromFloats({4}, {1, 2, 3, 4})->contentHash());
  EXPECT_EQ(a->contentHash(),
            TensorData::fromFloats({2, 2}, {1, 2, 3, 4})->contentHash());
}

TEST(TensorData, StringsHashSeparatesElements) {
  auto ab = TensorData::createStrings({2}, {"ab", ""});
  auto a_b = TensorData::createStrings({2}, {"a", "b"});
  EXPECT_NE(ab->contentHash(), a_b->contentHash());
  EXPECT_EQ(ab->numNonZeros(), 1);
}

TEST(TensorData, ElidedKeepsSummaryOnly) {
  auto t = TensorData::createElided(DType::F32, {8, 8}, 16, 0xabcdef);
  EXPECT_FALSE(t->hasValues());
  EXPECT_EQ(t->numNonZeros(), 16);
  EXPECT_DOUBLE_EQ(t->density(), 0.25);
  EXPECT_EQ(t->contentHash(), 0xabcdefu);
}

TEST(TensorData, IntegerConversions) {
  auto t = TensorData::fromInt64s({3}, {-1, 0, 1LL << 40});
  EXPECT_EQ(t->toInt64s(), (std::vector<int64_t>{-1, 0, 1LL << 40}));
  EXPECT_EQ(t->numNonZeros(), 2);
}

TEST(Types, FormatType) {
  TensorType t(DType::F32, std::vector<Dim>{Dim::symbolic("N"), Dim::known(3),
                                            Dim::unknown()});
  EXPECT_EQ(formatType(t), "f32[N,3,?]");
  EXPECT_EQ(formatType(TensorType(DType::I64, std::vector<Dim>{})), "i64[]");
  EXPECT_EQ(formatType(TensorType(DType::F32, std::nullopt)), "f32[*]");
  EXPECT_EQ(formatType(TensorType()), "?");
  EXPECT_FALSE(t.isStatic());
  EXPECT_EQ(TensorType::get(DType::F32, {2, 3}).numElements(), 6);
}

TEST(Types, DTypeNamesRoundTrip) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I8,
                  DType::I16, DType::I32, DType::I64, DType::U8, DType::U16,
                  DType::U32, DType::U64, DType::Bool, DType::String}) {
    auto parsed = parseDType(dtypeName(t));
    ASSERT_TRUE(parsed.has_value()) << dtypeName(t).str();
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_FALSE(parseDType("f31").has_value());
}

} // namespace
