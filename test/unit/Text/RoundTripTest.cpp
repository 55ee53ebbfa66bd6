//===- RoundTripTest.cpp - Print/parse round trips of the textual IR ------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The textual IR promises two things: canonical text survives
// parse -> print byte for byte, and a module survives print -> parse field by
// field (float bits, storage kinds, unknown dims and all). These tests build
// modules that exercise every corner and compare both ways; the comparison
// helper looks at every field of Module rather than at printed text, so a
// printer and parser that agreed on a lossy form would still fail.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Module.h"
#include "sparseloom/IR/Parser.h"
#include "sparseloom/IR/Printer.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

using namespace sparseloom;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

template <typename T>
std::vector<uint8_t> bytesOf(const std::vector<T> &values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  if (!values.empty())
    std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

template <typename T>
TensorDataRef dense(DType dtype, std::vector<int64_t> dims,
                    const std::vector<T> &values) {
  return TensorData::createDense(dtype, std::move(dims), bytesOf(values));
}

float floatFromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::unique_ptr<Module> parseOrFail(llvm::StringRef text) {
  auto parsed = parseModule(text, "test.slir");
  if (!parsed) {
    ADD_FAILURE() << "parse failed: " << llvm::toString(parsed.takeError())
                  << "\n--- input ---\n"
                  << text.str();
    return nullptr;
  }
  return std::move(*parsed);
}

const PrintOptions kAllValues{-1};

void expectTensorsEqual(const TensorData &a, const TensorData &b,
                        const std::string &what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(a.kind(), b.kind());
  EXPECT_EQ(a.dtype(), b.dtype());
  EXPECT_EQ(a.dims(), b.dims());
  EXPECT_EQ(a.numNonZeros(), b.numNonZeros());
  EXPECT_EQ(a.contentHash(), b.contentHash());
  if (a.kind() != b.kind())
    return;
  switch (a.kind()) {
  case TensorData::Kind::Dense:
    if (a.dtype() == DType::String)
      EXPECT_EQ(a.strings(), b.strings());
    else
      EXPECT_EQ(a.rawBytes().vec(), b.rawBytes().vec());
    break;
  case TensorData::Kind::SparseCoo:
    EXPECT_EQ(a.sparseIndices(), b.sparseIndices());
    EXPECT_EQ(a.sparseValueBytes().vec(), b.sparseValueBytes().vec());
    break;
  case TensorData::Kind::Elided:
    break;
  }
}

void expectAttributeMapsEqual(const AttributeMap &a, const AttributeMap &b,
                              const std::string &what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(a.size(), b.size());
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    EXPECT_EQ(ia->first, ib->first);
    EXPECT_EQ(ia->second.kind(), ib->second.kind()) << ia->first;
    // operator== compares floats bitwise, so NaN payloads and -0.0 count.
    EXPECT_TRUE(ia->second == ib->second) << ia->first;
    if (ia->second.kind() == Attribute::Kind::Tensor &&
        ib->second.kind() == Attribute::Kind::Tensor)
      expectTensorsEqual(*ia->second.getTensor(), *ib->second.getTensor(),
                         "attribute " + ia->first);
  }
}

void expectModulesEqual(const Module &a, const Module &b) {
  EXPECT_EQ(a.irVersion, b.irVersion);
  EXPECT_EQ(a.producerName, b.producerName);
  EXPECT_EQ(a.producerVersion, b.producerVersion);
  EXPECT_EQ(a.domain, b.domain);
  EXPECT_EQ(a.modelVersion, b.modelVersion);
  EXPECT_EQ(a.docString, b.docString);
  EXPECT_EQ(a.opsetImports, b.opsetImports);
  EXPECT_EQ(a.metadata, b.metadata);
  expectAttributeMapsEqual(a.annotations, b.annotations, "module annotations");

  const Graph &ga = a.graph, &gb = b.graph;
  EXPECT_EQ(ga.name, gb.name);
  EXPECT_EQ(ga.inputs, gb.inputs);
  EXPECT_EQ(ga.outputs, gb.outputs);
  EXPECT_EQ(ga.types(), gb.types());

  ASSERT_EQ(ga.weights().size(), gb.weights().size());
  auto wa = ga.weights().begin(), wb = gb.weights().begin();
  for (; wa != ga.weights().end(); ++wa, ++wb) {
    EXPECT_EQ(wa->first, wb->first); // order included
    EXPECT_EQ(wa->second.name, wb->second.name);
    expectTensorsEqual(*wa->second.data, *wb->second.data,
                       "weight " + wa->first);
    expectAttributeMapsEqual(wa->second.annotations, wb->second.annotations,
                             "annotations of weight " + wa->first);
  }

  ASSERT_EQ(ga.numNodes(), gb.numNodes());
  for (size_t i = 0; i < ga.numNodes(); ++i) {
    const Node &na = *ga.nodes()[i], &nb = *gb.nodes()[i];
    SCOPED_TRACE("node " + std::to_string(i) + " " + na.opType);
    EXPECT_EQ(na.opType, nb.opType);
    EXPECT_EQ(na.domain, nb.domain);
    EXPECT_EQ(na.name, nb.name);
    EXPECT_EQ(na.inputs, nb.inputs);
    EXPECT_EQ(na.outputs, nb.outputs);
    expectAttributeMapsEqual(na.attributes, nb.attributes, "attributes");
    expectAttributeMapsEqual(na.annotations, nb.annotations, "annotations");
  }
}

/// print(m) -> parse -> equal to m, and print(parse(print(m))) == print(m).
void expectRoundTrip(const Module &m,
                     const PrintOptions &options = kAllValues) {
  std::string text = printModuleToString(m, options);
  std::unique_ptr<Module> parsed = parseOrFail(text);
  ASSERT_TRUE(parsed) << text;
  expectModulesEqual(m, *parsed);
  EXPECT_EQ(printModuleToString(*parsed, options), text);
}

Node makeNode(std::string op, std::vector<std::string> inputs,
              std::vector<std::string> outputs) {
  Node n;
  n.opType = std::move(op);
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  return n;
}

//===----------------------------------------------------------------------===//
// Canonical text
//===----------------------------------------------------------------------===//

// Written by hand in the printer's canonical form: parsing and printing it
// must give back exactly these bytes.
const char *kCanonical = R"(module {
  ir_version = 8
  producer = "pytorch" "1.13.1"
  domain = "org.example"
  model_version = 3
  doc = "two\nlines \"quoted\" \\ tab\t\01\C3\A9"
  opset "" = 13
  opset "com.microsoft" = 1
  metadata "zeta" = "1"
  metadata "alpha" = "2"
  annotate {count = 3, sl.note = "x"}
  graph "main_graph" (%input : f32[N,1,8,8], %mask : bool[?,16], %"weird name" : ?, %seq : i64["batch size",3,"7","?"], %anything : u8[*], %shape : ?[2,?]) -> (%logits, %aux, %"onnx::Gemm_12") {
    weight %conv.weight : f32[2,1,1,2] = dense<[0.5, -0.0, 0.001, 2.0]>
    weight %w2 : f32[4] = sparse<indices = [0, 3], values = [1.0, 2.0]>
    weight %big : f32[64,3,3,3] = elided<nnz = 864, hash = 0x1234abcd5678ef00> annotate {sparsity.density = 0.5}
    weight %scalar : i64[] = dense<[-9223372036854775808]>
    weight %"odd//name" : string[2] = dense<["a", ""]>
    %y : f32[N,2,8,8] = Conv(%input, %conv.weight, none) {dilations = [1, 1], group = 1, pads = [0, 0, 0, 0]} loc("/conv1/Conv")
    %a : ?, %b : f32[*] = com.microsoft::Fused(%y) loc("n2") annotate {flops = 1024}
    %"onnx::Gemm_12" : f32[N,10] = Gemm(%a, %"weird name") {alpha = 1.0, transB = 1}
    %d : f32[N,10], none = Dropout(%"onnx::Gemm_12")
    () = "my domain"::"Print Op"(%d)
    %logits : f32[N,10] = Relu(%d) {e_floats = floats[], e_ints = ints[], e_strings = strings[], f = -inf, fs = [nan, -nan, nan(0x7fc00001), inf, 1e+20, 1e-45], i = -7, is = [1, -2], s = "s", ss = ["a", "b\n"], t = tensor<i64[2]> dense<[1, 2]>, te = tensor<f32[100]> elided<nnz = 3, hash = 0x0000000000000001>, ts = tensor<f16[8]> sparse<indices = [1, 7], values = [0.5, -65500.0]>}
    %aux : i64[N] = Shape(%logits)
  }
}
)";

TEST(TextRoundTrip, CanonicalTextIsByteIdentical) {
  std::unique_ptr<Module> m = parseOrFail(kCanonical);
  ASSERT_TRUE(m);
  EXPECT_EQ(printModuleToString(*m, kAllValues), kCanonical);
  // The default options elide only tensors above 16 elements; nothing in
  // the canonical text has printed values above that.
  EXPECT_EQ(printModuleToString(*m), kCanonical);
}

// Damaged input must give an error, never an assertion or a crash: the
// parser checks everything TensorData's constructors assert on.
TEST(TextRoundTrip, DamagedInputFailsCleanly) {
  std::string canonical = kCanonical;
  for (size_t n = 0; n + 1 < canonical.size(); ++n) {
    auto parsed = parseModule(canonical.substr(0, n), "prefix");
    if (parsed)
      ADD_FAILURE() << "prefix of " << n << " bytes parsed";
    else
      llvm::consumeError(parsed.takeError());
  }
  for (size_t i = 0; i < canonical.size(); ++i) {
    for (char c : {'"', '%', '[', ']', '0', '9', '-', ' ', 'x', ',', '\\'}) {
      std::string mutated = canonical;
      mutated[i] = c;
      auto parsed = parseModule(mutated, "mutated");
      if (parsed)
        printModuleToString(**parsed); // whatever parsed must also print
      else
        llvm::consumeError(parsed.takeError());
    }
  }
}

TEST(TextRoundTrip, CanonicalTextBuildsTheExpectedModule) {
  std::unique_ptr<Module> m = parseOrFail(kCanonical);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->producerName, "pytorch");
  EXPECT_EQ(m->producerVersion, "1.13.1");
  EXPECT_EQ(m->docString, "two\nlines \"quoted\" \\ tab\t\x01\xC3\xA9");
  EXPECT_EQ(m->opsetVersion(""), 13);
  EXPECT_EQ(m->opsetVersion("com.microsoft"), 1);
  ASSERT_EQ(m->metadata.size(), 2u);
  EXPECT_EQ(m->metadata[0].first, "zeta"); // file order, not sorted

  const Graph &g = m->graph;
  EXPECT_EQ(g.inputs, (std::vector<std::string>{"input", "mask", "weird name",
                                                "seq", "anything", "shape"}));
  EXPECT_EQ(g.outputs,
            (std::vector<std::string>{"logits", "aux", "onnx::Gemm_12"}));

  TensorType seq = g.getType("seq");
  ASSERT_TRUE(seq.hasRank());
  ASSERT_EQ(seq.rank(), 4u);
  EXPECT_EQ((*seq.dims)[0], Dim::symbolic("batch size"));
  EXPECT_EQ((*seq.dims)[1], Dim::known(3));
  EXPECT_EQ((*seq.dims)[2], Dim::symbolic("7")); // quoted: a symbol, not 7
  EXPECT_EQ((*seq.dims)[3], Dim::symbolic("?"));
  EXPECT_EQ(g.getType("mask").dims->at(0), Dim::unknown());
  EXPECT_EQ(g.getType("anything"), TensorType(DType::U8, std::nullopt));
  EXPECT_EQ(g.getType("weird name"), TensorType());
  EXPECT_TRUE(g.hasType("weird name"));
  EXPECT_EQ(g.getType("b"), TensorType(DType::F32, std::nullopt));
  EXPECT_EQ(g.getType("shape").dtype, DType::Undefined);
  EXPECT_EQ(g.getType("shape").rank(), 2u);

  const Weight *cw = g.findWeight("conv.weight");
  ASSERT_TRUE(cw);
  EXPECT_EQ(cw->data->kind(), TensorData::Kind::Dense);
  std::vector<float> cwValues = cw->data->toFloats();
  EXPECT_EQ(cwValues, (std::vector<float>{0.5f, -0.0f, 0.001f, 2.0f}));
  EXPECT_TRUE(std::signbit(cwValues[1]));
  EXPECT_EQ(cw->data->numNonZeros(), 3);

  const Weight *w2 = g.findWeight("w2");
  ASSERT_TRUE(w2);
  EXPECT_EQ(w2->data->kind(), TensorData::Kind::SparseCoo);
  EXPECT_EQ(w2->data->sparseIndices(), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(w2->data->toFloats(), (std::vector<float>{1, 0, 0, 2}));

  const Weight *big = g.findWeight("big");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->data->kind(), TensorData::Kind::Elided);
  EXPECT_EQ(big->data->numNonZeros(), 864);
  EXPECT_EQ(big->data->contentHash(), 0x1234abcd5678ef00ull);
  EXPECT_EQ(big->data->dims(), (std::vector<int64_t>{64, 3, 3, 3}));
  EXPECT_EQ(big->annotations.at("sparsity.density").getFloat(), 0.5f);
  EXPECT_EQ(g.findWeight("scalar")->data->toInt64s(),
            (std::vector<int64_t>{std::numeric_limits<int64_t>::min()}));
  EXPECT_EQ(g.findWeight("odd//name")->data->strings(),
            (std::vector<std::string>{"a", ""}));
  // Weights keep their textual order.
  EXPECT_EQ(g.weights().begin()->first, "conv.weight");

  ASSERT_EQ(g.numNodes(), 7u);
  const Node &conv = *g.nodes()[0];
  EXPECT_EQ(conv.name, "/conv1/Conv");
  EXPECT_EQ(conv.inputs,
            (std::vector<std::string>{"input", "conv.weight", ""}));
  EXPECT_EQ(conv.getIntsAttr("pads"), (std::vector<int64_t>{0, 0, 0, 0}));
  const Node &fused = *g.nodes()[1];
  EXPECT_EQ(fused.domain, "com.microsoft");
  EXPECT_EQ(fused.opType, "Fused");
  EXPECT_EQ(fused.annotations.at("flops").getInt(), 1024);
  EXPECT_EQ(g.nodes()[3]->outputs, (std::vector<std::string>{"d", ""}));
  const Node &print = *g.nodes()[4];
  EXPECT_TRUE(print.outputs.empty());
  EXPECT_EQ(print.domain, "my domain");
  EXPECT_EQ(print.opType, "Print Op");

  const Node &relu = *g.nodes()[5];
  EXPECT_EQ(relu.getAttr("i")->getInt(), -7);
  EXPECT_EQ(relu.getAttr("f")->getFloat(),
            -std::numeric_limits<float>::infinity());
  EXPECT_EQ(relu.getAttr("e_ints")->kind(), Attribute::Kind::Ints);
  EXPECT_EQ(relu.getAttr("e_floats")->kind(), Attribute::Kind::Floats);
  EXPECT_EQ(relu.getAttr("e_strings")->kind(), Attribute::Kind::Strings);
  EXPECT_EQ(relu.getAttr("ss")->getStrings(),
            (std::vector<std::string>{"a", "b\n"}));
  const std::vector<float> &fs = relu.getAttr("fs")->getFloats();
  ASSERT_EQ(fs.size(), 6u);
  uint32_t bits[3];
  for (int i = 0; i < 3; ++i)
    std::memcpy(&bits[i], &fs[size_t(i)], 4);
  EXPECT_EQ(bits[0], 0x7fc00000u);
  EXPECT_EQ(bits[1], 0xffc00000u);
  EXPECT_EQ(bits[2], 0x7fc00001u);
  EXPECT_EQ(fs[5], floatFromBits(1)); // smallest subnormal
  const TensorDataRef &ts = relu.getAttr("ts")->getTensor();
  EXPECT_EQ(ts->kind(), TensorData::Kind::SparseCoo);
  EXPECT_EQ(ts->dtype(), DType::F16);
  EXPECT_EQ(ts->toFloats()[7], -65504.0f);
  EXPECT_EQ(relu.getAttr("te")->getTensor()->kind(), TensorData::Kind::Elided);
}

// The example in docs/IRFormat.md must be canonical text, so the document
// cannot drift from what the printer writes.
TEST(TextRoundTrip, DocumentedExampleIsCanonical) {
  std::ifstream in(std::string(SPARSELOOM_SOURCE_DIR) + "/docs/IRFormat.md");
  ASSERT_TRUE(in) << "docs/IRFormat.md not found";
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string doc = buffer.str();
  size_t section = doc.find("## Example");
  ASSERT_NE(section, std::string::npos);
  size_t begin = doc.find("```\n", section);
  ASSERT_NE(begin, std::string::npos);
  begin += 4;
  size_t end = doc.find("```", begin);
  ASSERT_NE(end, std::string::npos);
  std::string example = doc.substr(begin, end - begin);
  std::unique_ptr<Module> m = parseOrFail(example);
  ASSERT_TRUE(m);
  // Comments are not part of the IR; everything else prints back verbatim.
  std::string withoutComments;
  std::istringstream lines(example);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("//", 0) != 0)
      withoutComments += line + "\n";
  EXPECT_EQ(printModuleToString(*m), withoutComments);
}

TEST(TextRoundTrip, CommentsAndLayoutAreIgnored) {
  std::unique_ptr<Module> canonical = parseOrFail(
      "module {\n  ir_version = 8\n  graph \"g\" (%x : f32[2]) -> (%y) {\n"
      "    %y : f32[2] = Relu(%x) {alpha = 0.5}\n  }\n}\n");
  // RUN: / CHECK: lines live in comments; layout and header order are free.
  std::unique_ptr<Module> loose = parseOrFail(
      "// RUN: sparseloom-opt %s | FileCheck %s\n"
      "module{graph \"g\"(%x:f32[2])->(%y){%y:f32[2]=Relu(%x){alpha=0.5}}}"
      "// CHECK: trailing comment");
  ASSERT_TRUE(canonical && loose);
  EXPECT_EQ(printModuleToString(*loose), printModuleToString(*canonical));
}

TEST(TextRoundTrip, DefaultsPrintMinimalHeader) {
  Module m;
  m.graph.name = "g";
  EXPECT_EQ(printModuleToString(m), "module {\n"
                                    "  ir_version = 8\n"
                                    "  graph \"g\" () -> () {\n"
                                    "  }\n"
                                    "}\n");
  expectRoundTrip(m);
  // Only one half of the producer set still prints the line.
  m.producerVersion = "2.0";
  EXPECT_NE(printModuleToString(m).find("  producer = \"\" \"2.0\"\n"),
            std::string::npos);
  expectRoundTrip(m);
}

//===----------------------------------------------------------------------===//
// Modules built in C++
//===----------------------------------------------------------------------===//

TEST(TextRoundTrip, EveryAttributeKindAndSpecialFloat) {
  Module m;
  m.irVersion = 9;
  m.producerName = "tests";
  m.modelVersion = -4;
  m.opsetImports = {{"", 17}, {"ai.onnx.ml", 3}};
  m.metadata = {{"b", "x"}, {"a", "y"}, {"b", "dup keys are kept"}};
  m.annotations["sl.stage"] = Attribute("sparsity");
  m.annotations["sl.density"] = Attribute(0.25f);

  Graph &g = m.graph;
  g.name = "attrs";
  g.inputs = {"x"};
  g.setType("x", TensorType(DType::F32, std::vector<Dim>{Dim::symbolic("N")}));
  g.outputs = {"y"};
  Node n = makeNode("Custom", {"x"}, {"y"});
  n.domain = "test.domain";
  n.name = "node \"one\"";
  float nan = std::numeric_limits<float>::quiet_NaN();
  float inf = std::numeric_limits<float>::infinity();
  n.attributes["int"] = Attribute(int64_t(std::numeric_limits<int64_t>::max()));
  n.attributes["int_min"] =
      Attribute(int64_t(std::numeric_limits<int64_t>::min()));
  n.attributes["float"] = Attribute(0.1f);
  n.attributes["float_one"] = Attribute(1.0f); // must not read back as Int
  n.attributes["float_neg_zero"] = Attribute(-0.0f);
  n.attributes["float_nan"] = Attribute(nan);
  n.attributes["float_neg_nan"] = Attribute(-nan);
  n.attributes["float_payload_nan"] = Attribute(floatFromBits(0xffa00003u));
  n.attributes["float_inf"] = Attribute(inf);
  n.attributes["float_neg_inf"] = Attribute(-inf);
  n.attributes["float_max"] = Attribute(std::numeric_limits<float>::max());
  n.attributes["float_denorm"] = Attribute(floatFromBits(0x00000123u));
  n.attributes["string"] = Attribute(std::string("a\0b\"\\\x7f\xff", 7));
  n.attributes["string_empty"] = Attribute("");
  n.attributes["ints"] = Attribute(std::vector<int64_t>{0, -1, 3});
  n.attributes["ints_empty"] = Attribute(std::vector<int64_t>{});
  n.attributes["floats"] =
      Attribute(std::vector<float>{1.0f, -0.0f, nan, inf, 3.14159265f});
  n.attributes["floats_empty"] = Attribute(std::vector<float>{});
  n.attributes["strings"] = Attribute(std::vector<std::string>{"", "x y"});
  n.attributes["strings_empty"] = Attribute(std::vector<std::string>{});
  n.attributes["tensor"] =
      Attribute(dense<double>(DType::F64, {2}, {-0.0, 1e-300}));
  n.attributes["tensor_sparse"] = Attribute(TensorData::createSparseCoo(
      DType::I32, {3, 3}, {4, 8}, bytesOf(std::vector<int32_t>{-5, 7})));
  n.attributes["tensor_strings"] =
      Attribute(TensorData::createStrings({1}, {"only"}));
  n.attributes["weird key!"] = Attribute(int64_t(1));
  n.annotations["sl.cost"] = Attribute(std::vector<float>{0.5f});
  g.addNode(n);
  g.setType("y", TensorType(DType::F32, std::nullopt));

  std::string text = printModuleToString(m, kAllValues);
  // Spot checks of the spellings the format promises.
  EXPECT_NE(text.find("float_one = 1.0,"), std::string::npos) << text;
  EXPECT_NE(text.find("float_neg_zero = -0.0,"), std::string::npos) << text;
  EXPECT_NE(text.find("float_nan = nan,"), std::string::npos) << text;
  EXPECT_NE(text.find("float_neg_nan = -nan,"), std::string::npos) << text;
  EXPECT_NE(text.find("float_payload_nan = nan(0xffa00003),"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("float_neg_inf = -inf,"), std::string::npos) << text;
  EXPECT_NE(text.find("float = 0.1,"), std::string::npos) << text;
  EXPECT_NE(text.find("ints_empty = ints[],"), std::string::npos) << text;
  EXPECT_NE(text.find("string = \"a\\00b\\\"\\\\\\7F\\FF\","),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"weird key!\" = 1}"), std::string::npos) << text;
  EXPECT_NE(text.find("= test.domain::Custom(%x)"), std::string::npos) << text;
  EXPECT_NE(text.find("loc(\"node \\\"one\\\"\")"), std::string::npos) << text;
  EXPECT_NE(text.find("tensor = tensor<f64[2]> dense<[-0.0, 1e-300]>"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("tensor_sparse = tensor<i32[3,3]> sparse<indices = "
                      "[4, 8], values = [-5, 7]>"),
            std::string::npos)
      << text;
  expectRoundTrip(m);
}

TEST(TextRoundTrip, EveryDTypeWeight) {
  Module m;
  Graph &g = m.graph;
  g.name = "dtypes";
  g.setWeight({"f32",
               dense<float>(DType::F32, {2, 3},
                            {0.0f, -0.0f, 1.5f, -1e-38f, 3.4e38f,
                             std::numeric_limits<float>::denorm_min()}),
               {}});
  g.setWeight(
      {"f64", dense<double>(DType::F64, {3}, {0.1, -2.5e-310, 1e308}), {}});
  g.setWeight(
      {"f16",
       dense<uint16_t>(DType::F16, {6},
                       {0x3c00, 0x8000, 0x0001, 0x7bff, 0x7e00, 0xfc00}),
       {}});
  g.setWeight({"bf16",
               dense<uint16_t>(DType::BF16, {5},
                               {0x3f80, 0x0001, 0x7f7f, 0x7fc1, 0xbe00}),
               {}});
  g.setWeight({"i8", dense<int8_t>(DType::I8, {3}, {-128, 0, 127}), {}});
  g.setWeight({"u8", dense<uint8_t>(DType::U8, {2}, {0, 255}), {}});
  g.setWeight({"i16", dense<int16_t>(DType::I16, {2}, {-32768, 32767}), {}});
  g.setWeight({"u16", dense<uint16_t>(DType::U16, {1}, {65535}), {}});
  g.setWeight({"i32",
               dense<int32_t>(DType::I32, {2},
                              {std::numeric_limits<int32_t>::min(), 7}),
               {}});
  g.setWeight({"u32", dense<uint32_t>(DType::U32, {1}, {4294967295u}), {}});
  g.setWeight({"i64",
               dense<int64_t>(DType::I64, {2},
                              {std::numeric_limits<int64_t>::min(),
                               std::numeric_limits<int64_t>::max()}),
               {}});
  g.setWeight(
      {"u64",
       dense<uint64_t>(DType::U64, {1}, {std::numeric_limits<uint64_t>::max()}),
       {}});
  g.setWeight({"bool", dense<uint8_t>(DType::Bool, {2, 1}, {1, 0}), {}});
  g.setWeight(
      {"string", TensorData::createStrings({2}, {"\n", "\xe2\x82\xac"}), {}});
  g.setWeight({"empty", dense<float>(DType::F32, {0, 4}, {}), {}});
  g.setWeight({"scalar", dense<int64_t>(DType::I64, {}, {42}), {}});

  std::string text = printModuleToString(m, kAllValues);
  EXPECT_NE(text.find("weight %f16 : f16[6] = dense<[1.0, -0.0, 6e-08, "
                      "65500.0, nan, -inf]>"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("weight %bf16 : bf16[5] = dense<[1.0, 9e-41, 3.39e+38, "
                      "nan(0x7fc1), -0.125]>"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("weight %u64 : u64[1] = dense<[18446744073709551615]>"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("weight %bool : bool[2,1] = dense<[1, 0]>"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("weight %string : string[2] = dense<[\"\\n\", "
                      "\"\\E2\\82\\AC\"]>"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("weight %empty : f32[0,4] = dense<[]>"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("weight %scalar : i64[] = dense<[42]>"),
            std::string::npos)
      << text;
  expectRoundTrip(m);
}

// Every f16 and bf16 bit pattern must survive: the decimal spelling is
// searched, so an off-by-one in rounding would show up somewhere here.
TEST(TextRoundTrip, AllHalfPrecisionBitPatterns) {
  for (DType dtype : {DType::F16, DType::BF16}) {
    std::vector<uint16_t> all(65536);
    for (size_t i = 0; i < all.size(); ++i)
      all[i] = uint16_t(i);
    Module m;
    m.graph.setWeight({"w", dense<uint16_t>(dtype, {65536}, all), {}});
    expectRoundTrip(m);
  }
}

TEST(TextRoundTrip, SampledFloatBitPatterns) {
  // A deterministic spread over all f32 and f64 bit patterns.
  std::vector<uint32_t> f32Bits;
  std::vector<uint64_t> f64Bits;
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 20000; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    f32Bits.push_back(uint32_t(state >> 32));
    f64Bits.push_back(state);
  }
  Module m;
  m.graph.setWeight({"f32", dense<uint32_t>(DType::F32, {20000}, f32Bits), {}});
  m.graph.setWeight({"f64", dense<uint64_t>(DType::F64, {20000}, f64Bits), {}});
  std::vector<float> asFloats(f32Bits.size());
  std::memcpy(asFloats.data(), f32Bits.data(), f32Bits.size() * 4);
  m.annotations["floats"] = Attribute(asFloats);
  expectRoundTrip(m);
}

TEST(TextRoundTrip, SparseWeightsKeepTheirStorage) {
  Module m;
  Graph &g = m.graph;
  g.setWeight(
      {"s",
       TensorData::createSparseCoo(DType::F32, {2, 2}, {1, 2},
                                   bytesOf(std::vector<float>{-0.0f, 3.0f})),
       {{"sl.pattern", Attribute("unstructured")}}});
  g.setWeight({"empty_sparse",
               TensorData::createSparseCoo(DType::I64, {5}, {}, {}),
               {}});
  g.setWeight(
      {"half_sparse",
       TensorData::createSparseCoo(DType::F16, {4}, {3},
                                   bytesOf(std::vector<uint16_t>{0x3800})),
       {}});
  std::string text = printModuleToString(m, kAllValues);
  EXPECT_NE(text.find("weight %s : f32[2,2] = sparse<indices = [1, 2], values "
                      "= [-0.0, 3.0]> annotate {sl.pattern = "
                      "\"unstructured\"}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("weight %empty_sparse : i64[5] = sparse<indices = [], "
                      "values = []>"),
            std::string::npos)
      << text;
  expectRoundTrip(m);
}

TEST(TextRoundTrip, ValueNamesAndTypes) {
  Module m;
  Graph &g = m.graph;
  g.name = "names \"g\"";
  std::vector<std::string> names = {"plain",     "with.dots/and-slashes$1",
                                    "123",       "onnx::Gemm_12",
                                    "has space", "a//b",
                                    "none",      "quote\"s",
                                    "\xce\xbb",  "weight",
                                    "x\n"};
  for (const std::string &name : names)
    g.inputs.push_back(name);
  g.setType("plain", TensorType(DType::F32,
                                std::vector<Dim>{Dim::symbolic("N"),
                                                 Dim::unknown(), Dim::known(0),
                                                 Dim::symbolic("unk__3.a")}));
  g.setType("with.dots/and-slashes$1",
            TensorType(DType::I64, std::vector<Dim>{}));
  g.setType("123", TensorType(DType::Bool, std::nullopt));
  g.setType("onnx::Gemm_12",
            TensorType(DType::Undefined, std::vector<Dim>{Dim::known(1)}));
  g.setType("has space", TensorType());
  g.setType("a//b",
            TensorType(DType::String, std::vector<Dim>{Dim::symbolic("1x"),
                                                       Dim::symbolic("N+1")}));
  for (size_t i = 6; i < names.size(); ++i)
    g.setType(names[i], TensorType::get(DType::U8, {int64_t(i)}));
  Node n = makeNode("Concat", names, {"out put"});
  n.inputs.insert(n.inputs.begin() + 2, ""); // omitted optional input
  g.addNode(n);
  g.setType("out put", TensorType::get(DType::F32, {1}));
  g.outputs = {"out put", "plain"};

  std::string text = printModuleToString(m, kAllValues);
  EXPECT_NE(text.find("(%plain : f32[N,?,0,unk__3.a], "
                      "%with.dots/and-slashes$1 : i64[], %123 : bool[*], "
                      "%\"onnx::Gemm_12\" : ?[1], %\"has space\" : ?, "
                      "%\"a//b\" : string[\"1x\",\"N+1\"], %none : u8[6], "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Concat(%plain, %with.dots/and-slashes$1, none, %123,"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("%\"\\CE\\BB\""), std::string::npos) << text;
  expectRoundTrip(m);
}

//===----------------------------------------------------------------------===//
// Elided weights
//===----------------------------------------------------------------------===//

TEST(TextRoundTrip, ElidedSummaryIsStable) {
  Module m;
  std::vector<float> values(17, 0.0f);
  values[3] = 1.0f;
  values[16] = -2.0f;
  TensorDataRef big = TensorData::fromFloats({17}, values);
  m.graph.setWeight({"big", big, {{"note", Attribute(int64_t(1))}}});
  TensorDataRef small = TensorData::fromFloats({16}, std::vector<float>(16, 1));
  m.graph.setWeight({"small", small, {}});
  Node n = makeNode("Foo", {"big"}, {"o"});
  n.attributes["t"] = Attribute(big);
  m.graph.addNode(n);
  m.graph.setType("o", TensorType());

  std::string text = printModuleToString(m); // default: elide above 16
  char expected[128];
  std::snprintf(expected, sizeof expected,
                "weight %%big : f32[17] = elided<nnz = 2, hash = 0x%016llx> "
                "annotate {note = 1}",
                static_cast<unsigned long long>(big->contentHash()));
  EXPECT_NE(text.find(expected), std::string::npos) << text;
  EXPECT_NE(text.find("weight %small : f32[16] = dense<["), std::string::npos)
      << text;
  EXPECT_NE(text.find("{t = tensor<f32[17]> elided<nnz = 2, hash = "),
            std::string::npos)
      << text;

  std::unique_ptr<Module> parsed = parseOrFail(text);
  ASSERT_TRUE(parsed);
  const TensorData &elided = *parsed->graph.findWeight("big")->data;
  EXPECT_EQ(elided.kind(), TensorData::Kind::Elided);
  EXPECT_FALSE(elided.hasValues());
  EXPECT_EQ(elided.dtype(), DType::F32);
  EXPECT_EQ(elided.dims(), big->dims());
  EXPECT_EQ(elided.numNonZeros(), 2);
  EXPECT_EQ(elided.contentHash(), big->contentHash());
  EXPECT_EQ(parsed->graph.getType("big"), big->type());
  EXPECT_EQ(parsed->graph.nodes()[0]->getAttr("t")->getTensor()->kind(),
            TensorData::Kind::Elided);
  // An elided tensor has no values to print, whatever the options say.
  EXPECT_EQ(printModuleToString(*parsed), text);
  EXPECT_EQ(printModuleToString(*parsed, kAllValues), text);
  // A lower threshold elides the small one too; 0 elides everything non-empty.
  EXPECT_NE(printModuleToString(m, PrintOptions{15})
                .find("weight %small : f32[16] = elided<nnz = 16, "),
            std::string::npos);
}

TEST(TextRoundTrip, PrintAttributeMatchesModuleSyntax) {
  std::string s;
  llvm::raw_string_ostream os(s);
  printAttribute(Attribute(std::vector<float>{2.0f, 0.5f}), os);
  os << " ";
  printAttribute(Attribute(std::vector<std::string>{}), os);
  os << " ";
  printAttribute(
      Attribute(TensorData::fromInt64s({20}, std::vector<int64_t>(20, 0))), os,
      PrintOptions{-1});
  os.flush();
  EXPECT_EQ(s, "[2.0, 0.5] strings[] tensor<i64[20]> dense<[0, 0, 0, 0, 0, 0, "
               "0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]>");
}

} // namespace
