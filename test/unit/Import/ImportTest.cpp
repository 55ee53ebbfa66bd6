//===- ImportTest.cpp - ONNX import: models that must import --------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What the importer produces from valid models: text and binary input,
// weights in every storage ONNX allows (typed fields, raw bytes, sparse,
// external files), symbolic dimensions and their binding, opset conversion,
// and the model-level fields. Every imported model is also round-tripped
// through the exporter.
//
//===----------------------------------------------------------------------===//

#include "ImportTestUtils.h"

#include <cstring>

using namespace sparseloom;
using namespace sparseloom::import_test;

namespace {

// A small convolution with a symbolic batch; W and B are initializers.
constexpr const char *kConvModel = R"(
<
  ir_version: 8,
  opset_import: ["" : 13],
  producer_name: "unit-test",
  producer_version: "1.0",
  domain: "org.sparseloom.test",
  model_version: 7,
  doc_string: "a small conv"
>
convnet (float[N,1,4,4] X) => (float[N,2,4,4] Y)
<float[2,1,3,3] W = {1,2,3,4,5,6,7,8,9, 0,0,0,0,1,0,0,0,0}, float[2] B = {0.5, -0.5}>
{
  C = Conv <pads = [1,1,1,1], kernel_shape = [3,3], strides = [1,1]> (X, W, B)
  Y = Relu(C)
}
)";

TEST(OnnxImport, ConvModelFromText) {
  auto module = importTextOk(kConvModel);
  ASSERT_TRUE(module);
  EXPECT_EQ(module->irVersion, 8);
  EXPECT_EQ(module->producerName, "unit-test");
  EXPECT_EQ(module->producerVersion, "1.0");
  EXPECT_EQ(module->domain, "org.sparseloom.test");
  EXPECT_EQ(module->modelVersion, 7);
  EXPECT_EQ(module->docString, "a small conv");
  EXPECT_EQ(module->opsetVersion(""), 13);

  const Graph &g = module->graph;
  EXPECT_EQ(g.name, "convnet");
  // Initializers are weights, not graph inputs.
  EXPECT_EQ(g.inputs, std::vector<std::string>{"X"});
  EXPECT_EQ(g.outputs, std::vector<std::string>{"Y"});
  ASSERT_EQ(g.numNodes(), 2u);
  const Node &conv = *g.nodes()[0];
  EXPECT_EQ(conv.opType, "Conv");
  EXPECT_EQ(conv.domain, "");
  EXPECT_EQ(conv.inputs, (std::vector<std::string>{"X", "W", "B"}));
  EXPECT_EQ(conv.outputs, std::vector<std::string>{"C"});
  EXPECT_EQ(conv.getIntsAttr("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(conv.getIntsAttr("kernel_shape"), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(g.nodes()[1]->opType, "Relu");

  const Weight *w = g.findWeight("W");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->data->kind(), TensorData::Kind::Dense);
  EXPECT_EQ(w->data->dims(), (std::vector<int64_t>{2, 1, 3, 3}));
  EXPECT_EQ(w->data->numNonZeros(), 10);
  EXPECT_EQ(w->data->toFloats()[4], 5.0f);
  ASSERT_TRUE(g.findWeight("B"));
  EXPECT_EQ(g.findWeight("B")->data->toFloats(),
            (std::vector<float>{0.5f, -0.5f}));

  // Declared, inferred and weight types; the symbolic batch is kept.
  EXPECT_EQ(formatType(g.getType("X")), "f32[N,1,4,4]");
  EXPECT_EQ(formatType(g.getType("C")), "f32[N,2,4,4]");
  EXPECT_EQ(formatType(g.getType("Y")), "f32[N,2,4,4]");
  EXPECT_EQ(formatType(g.getType("W")), "f32[2,1,3,3]");
  EXPECT_EQ(g.types().size(), 5u);

  expectRoundTrip(*module);
}

TEST(OnnxImport, BinaryAndTextGiveTheSameModule) {
  auto fromText = importTextOk(kConvModel);
  ASSERT_TRUE(fromText);
  auto fromBinary = importProtoOk(parseModelText(kConvModel));
  ASSERT_TRUE(fromBinary);
  EXPECT_EQ(testsupport::describeModuleDifference(*fromText, *fromBinary), "");
}

TEST(OnnxImport, FilesByExtension) {
  TempDir dir;
  dir.write("m.onnxtext", kConvModel);
  dir.write("m.onnx", serialize(parseModelText(kConvModel)));
  auto text = importOnnxFile(dir.file("m.onnxtext"));
  ASSERT_TRUE(bool(text)) << llvm::toString(text.takeError());
  auto binary = importOnnxFile(dir.file("m.onnx"));
  ASSERT_TRUE(bool(binary)) << llvm::toString(binary.takeError());
  EXPECT_EQ(testsupport::describeModuleDifference(**text, **binary), "");
}

TEST(OnnxImport, InputShapeBindingMakesTypesStatic) {
  ImportOptions options;
  options.inputShapes["X"] = {2, 1, 4, 4};
  auto module = importTextOk(kConvModel, options);
  ASSERT_TRUE(module);
  EXPECT_EQ(formatType(module->graph.getType("X")), "f32[2,1,4,4]");
  EXPECT_EQ(formatType(module->graph.getType("C")), "f32[2,2,4,4]");
  EXPECT_EQ(formatType(module->graph.getType("Y")), "f32[2,2,4,4]");
  expectRoundTrip(*module);
}

TEST(OnnxImport, UnknownDimsAndRanksStayUnknown) {
  auto module = importTextOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[?,3] X, float[3] mx) => (float[?,3] Y) {
      Y = Clip(X, , mx)
    }
  )");
  ASSERT_TRUE(module);
  EXPECT_EQ(formatType(module->graph.getType("X")), "f32[?,3]");
  EXPECT_EQ(formatType(module->graph.getType("Y")), "f32[?,3]");
  // The omitted optional input stays an empty name.
  EXPECT_EQ(module->graph.nodes()[0]->inputs,
            (std::vector<std::string>{"X", "", "mx"}));
  expectRoundTrip(*module);

  // Reshape to a runtime shape of unknown length gives a value of unknown
  // rank; ONNX's invented name for the unknown length of S is dropped.
  auto unranked = importTextOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[6] X, int64[?] S) => (int64[?] Y) {
      T = Reshape(X, S)
      Y = Shape(T)
    }
  )");
  ASSERT_TRUE(unranked);
  EXPECT_EQ(formatType(unranked->graph.getType("T")), "f32[*]");
  EXPECT_EQ(formatType(unranked->graph.getType("Y")), "i64[?]");
  expectRoundTrip(*unranked);
}

TEST(OnnxImport, Opset9IsConvertedTo13) {
  auto module = importTextOk(R"(
    <ir_version: 4, opset_import: ["" : 9], producer_name: "old">
    g (float[2,3,4,4] X) => (float[2,3,8,8] Y)
    <float[3] s = {1,1,1}, float[3] b = {0,0,0}, float[3] m = {0,0,0},
     float[3] v = {1,1,1}, float[4] sc = {1.0, 1.0, 2.0, 2.0}>
    {
      A = BatchNormalization(X, s, b, m, v)
      Y = Upsample <mode = "nearest"> (A, sc)
    }
  )");
  ASSERT_TRUE(module);
  EXPECT_EQ(module->opsetImports, (std::map<std::string, int64_t>{{"", 13}}));
  // Fields the converter does not carry over are kept.
  EXPECT_EQ(module->irVersion, 4);
  EXPECT_EQ(module->producerName, "old");
  std::vector<std::string> ops;
  for (const auto &n : module->graph.nodes())
    ops.push_back(n->opType);
  // Upsample was removed in opset 10; the converter rewrites it as Resize.
  EXPECT_EQ(ops.front(), "BatchNormalization");
  EXPECT_EQ(ops.back(), "Resize");
  EXPECT_EQ(formatType(module->graph.getType("Y")), "f32[2,3,8,8]");
  // IR version 4 allows initializers that are not inputs.
  EXPECT_EQ(module->graph.inputs, std::vector<std::string>{"X"});
  expectRoundTrip(*module);
}

TEST(OnnxImport, ConstantNodesStayConstantNodes) {
  auto module = importTextOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] X) => (int64[2] S, float[2,3] Y) {
      S = Constant <value = int64[2] {3, 2}> ()
      T = Reshape(X, S)
      Y = Reshape(T, shp)
      shp = Constant <value_ints = [2, 3]> ()
    }
  )");
  ASSERT_TRUE(module);
  const Graph &g = module->graph;
  ASSERT_EQ(g.numNodes(), 4u);
  // The out-of-order Constant was moved before its user; the rest keep
  // their relative order.
  EXPECT_EQ(g.nodes()[0]->outputs[0], "S");
  EXPECT_EQ(g.nodes()[1]->outputs[0], "T");
  EXPECT_EQ(g.nodes()[2]->outputs[0], "shp");
  EXPECT_EQ(g.nodes()[3]->outputs[0], "Y");
  const Node &c = *g.nodes()[0];
  EXPECT_EQ(c.opType, "Constant");
  const Attribute *value = c.getAttr("value");
  ASSERT_TRUE(value);
  ASSERT_EQ(value->kind(), Attribute::Kind::Tensor);
  EXPECT_EQ(value->getTensor()->toInt64s(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(g.nodes()[2]->getIntsAttr("value_ints"),
            (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(g.weights().empty());
  EXPECT_EQ(formatType(g.getType("T")), "f32[3,2]");
  expectRoundTrip(*module);
}

TEST(OnnxImport, AllAttributeKinds) {
  onnx::ModelProto proto = parseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13, "custom.domain" : 1]>
    g (float[2] X) => (float[2] Y) {
      Y = custom.domain.MyOp <i = 3, f = 0.25, s = "text", t = float[2] {1.0, 2.0},
                              ii = [1, 2], ff = [0.5, 1.5], ss = ["a", "b"]> (X)
    }
  )");
  proto.mutable_graph()->mutable_node(0)->set_name("my_op");
  auto module = importProtoOk(proto);
  ASSERT_TRUE(module);
  const Node &n = *module->graph.nodes()[0];
  EXPECT_EQ(n.domain, "custom.domain");
  EXPECT_EQ(n.name, "my_op");
  EXPECT_EQ(n.getAttr("i")->getInt(), 3);
  EXPECT_EQ(n.getAttr("f")->getFloat(), 0.25f);
  EXPECT_EQ(n.getAttr("s")->getString(), "text");
  EXPECT_EQ(n.getAttr("t")->getTensor()->toFloats(),
            (std::vector<float>{1, 2}));
  EXPECT_EQ(n.getAttr("ii")->getInts(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(n.getAttr("ff")->getFloats(), (std::vector<float>{0.5f, 1.5f}));
  EXPECT_EQ(n.getAttr("ss")->getStrings(),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(module->opsetVersion("custom.domain"), 1);
  // ONNX cannot infer a custom op: its output keeps the declared type.
  EXPECT_EQ(formatType(module->graph.getType("Y")), "f32[2]");
  expectRoundTrip(*module);
}

TEST(OnnxImport, TypedFieldsOfEveryElementType) {
  onnx::ModelProto proto = parseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1] X) => (float[1] Y) { Y = Identity(X) }
  )");
  onnx::GraphProto &g = *proto.mutable_graph();
  auto add = [&](const char *name, int type, std::vector<int64_t> dims) {
    onnx::TensorProto &t = *g.add_initializer();
    t.set_name(name);
    t.set_data_type(type);
    for (int64_t d : dims)
      t.add_dims(d);
    return &t;
  };
  auto *h = add("h", onnx::TensorProto::FLOAT16, {2});
  h->add_int32_data(0x3C00); // 1.0
  h->add_int32_data(0xC000); // -2.0
  auto *bf = add("bf", onnx::TensorProto::BFLOAT16, {1});
  bf->add_int32_data(0x3F80); // 1.0
  auto *i8 = add("i8", onnx::TensorProto::INT8, {2});
  i8->add_int32_data(-3);
  i8->add_int32_data(7);
  auto *b = add("b", onnx::TensorProto::BOOL, {3});
  for (int v : {1, 0, 1})
    b->add_int32_data(v);
  auto *i64 = add("i64", onnx::TensorProto::INT64, {2});
  i64->add_int64_data(-5);
  i64->add_int64_data(int64_t(1) << 40);
  auto *f64 = add("f64", onnx::TensorProto::DOUBLE, {1});
  f64->add_double_data(2.5);
  auto *u32 = add("u32", onnx::TensorProto::UINT32, {1});
  u32->add_uint64_data(4000000000u);
  auto *u64 = add("u64", onnx::TensorProto::UINT64, {1});
  u64->add_uint64_data(uint64_t(1) << 63);
  auto *raw = add("raw", onnx::TensorProto::INT32, {2});
  raw->set_raw_data(rawBytes(std::vector<int32_t>{-1, 9}));
  auto *str = add("str", onnx::TensorProto::STRING, {2});
  str->add_string_data("hello");
  str->add_string_data("");
  auto *scalar = add("scalar", onnx::TensorProto::FLOAT, {});
  scalar->add_float_data(4.0f);

  auto module = importProtoOk(proto);
  ASSERT_TRUE(module);
  const Graph &m = module->graph;
  EXPECT_EQ(m.findWeight("h")->data->toFloats(),
            (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(m.findWeight("bf")->data->toFloats(), (std::vector<float>{1.0f}));
  EXPECT_EQ(m.findWeight("i8")->data->toInt64s(),
            (std::vector<int64_t>{-3, 7}));
  EXPECT_EQ(m.findWeight("b")->data->toInt64s(),
            (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(m.findWeight("i64")->data->toInt64s(),
            (std::vector<int64_t>{-5, int64_t(1) << 40}));
  EXPECT_EQ(m.findWeight("f64")->data->elementAsDouble(0), 2.5);
  EXPECT_EQ(m.findWeight("u32")->data->toInt64s(),
            (std::vector<int64_t>{4000000000}));
  EXPECT_EQ(uint64_t(m.findWeight("u64")->data->toInt64s()[0]), uint64_t(1)
                                                                    << 63);
  EXPECT_EQ(m.findWeight("raw")->data->toInt64s(),
            (std::vector<int64_t>{-1, 9}));
  EXPECT_EQ(m.findWeight("str")->data->strings(),
            (std::vector<std::string>{"hello", ""}));
  EXPECT_EQ(formatType(m.getType("scalar")), "f32[]");
  EXPECT_EQ(m.findWeight("scalar")->data->toFloats(),
            (std::vector<float>{4.0f}));
  // Weights keep file order.
  EXPECT_EQ(m.weights().begin()->first, "h");
  expectRoundTrip(*module);
}

// A [3,4] sparse weight with two non-zeros, given as unsorted coordinates.
onnx::ModelProto sparseModel(bool coordinates) {
  onnx::ModelProto proto = parseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] X) => (float[2,4] Y) { Y = MatMul(X, S) }
  )");
  onnx::SparseTensorProto &sparse =
      *proto.mutable_graph()->add_sparse_initializer();
  sparse.add_dims(3);
  sparse.add_dims(4);
  onnx::TensorProto &values = *sparse.mutable_values();
  values.set_name("S");
  values.set_data_type(onnx::TensorProto::FLOAT);
  values.add_dims(2);
  values.add_float_data(5.0f); // at (2,1) = 9
  values.add_float_data(7.0f); // at (0,3) = 3
  onnx::TensorProto &indices = *sparse.mutable_indices();
  indices.set_data_type(onnx::TensorProto::INT64);
  indices.add_dims(2);
  if (coordinates) {
    indices.add_dims(2);
    for (int64_t v : {2, 1, 0, 3})
      indices.add_int64_data(v);
  } else {
    indices.set_raw_data(rawBytes(std::vector<int64_t>{9, 3}));
  }
  return proto;
}

TEST(OnnxImport, SparseInitializers) {
  for (bool coordinates : {true, false}) {
    SCOPED_TRACE(coordinates ? "coordinate indices" : "linear indices");
    // ONNX's checker requires sorted indices; ours sorts them anyway.
    ImportOptions options;
    options.runChecker = false;
    auto module = importProtoOk(sparseModel(coordinates), options);
    ASSERT_TRUE(module);
    const Weight *s = module->graph.findWeight("S");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->data->kind(), TensorData::Kind::SparseCoo);
    EXPECT_EQ(s->data->dims(), (std::vector<int64_t>{3, 4}));
    EXPECT_EQ(s->data->sparseIndices(), (std::vector<int64_t>{3, 9}));
    EXPECT_EQ(s->data->elementAsDouble(3), 7.0);
    EXPECT_EQ(s->data->elementAsDouble(9), 5.0);
    EXPECT_EQ(s->data->numNonZeros(), 2);
    EXPECT_EQ(module->graph.inputs, std::vector<std::string>{"X"});
    EXPECT_EQ(formatType(module->graph.getType("Y")), "f32[2,4]");

    // Export keeps it sparse, with sorted linear indices.
    auto bytes = exportOnnxBytes(*module);
    ASSERT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
    onnx::ModelProto exported;
    ASSERT_TRUE(exported.ParseFromString(*bytes));
    EXPECT_EQ(exported.graph().initializer_size(), 0);
    ASSERT_EQ(exported.graph().sparse_initializer_size(), 1);
    const onnx::TensorProto &idx =
        exported.graph().sparse_initializer(0).indices();
    ASSERT_EQ(idx.dims_size(), 1);
    EXPECT_EQ(idx.raw_data(), rawBytes(std::vector<int64_t>{3, 9}));
    expectRoundTrip(*module);
  }
}

TEST(OnnxImport, SortedSparseInitializerPassesTheChecker) {
  onnx::ModelProto proto = sparseModel(false);
  onnx::SparseTensorProto &sparse =
      *proto.mutable_graph()->mutable_sparse_initializer(0);
  sparse.mutable_indices()->set_raw_data(rawBytes(std::vector<int64_t>{3, 9}));
  auto module = importProtoOk(proto);
  ASSERT_TRUE(module);
  EXPECT_EQ(module->graph.findWeight("S")->data->elementAsDouble(3), 5.0);
}

TEST(OnnxImport, SparseInitializersSurviveOpsetConversion) {
  // ONNX 1.12's version converter drops sparse initializers on its own.
  onnx::ModelProto proto = sparseModel(false);
  proto.mutable_opset_import(0)->set_version(11);
  proto.mutable_graph()
      ->mutable_sparse_initializer(0)
      ->mutable_indices()
      ->set_raw_data(rawBytes(std::vector<int64_t>{3, 9}));
  auto module = importProtoOk(proto);
  ASSERT_TRUE(module);
  EXPECT_EQ(module->opsetVersion(""), 13);
  const Weight *s = module->graph.findWeight("S");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->data->kind(), TensorData::Kind::SparseCoo);
  EXPECT_EQ(module->graph.inputs, std::vector<std::string>{"X"});
  EXPECT_EQ(formatType(module->graph.getType("Y")), "f32[2,4]");
  expectRoundTrip(*module);
}

TEST(OnnxImport, OldIrVersionIsConvertedWithItsInitializerInputs) {
  auto module = importTextOk(R"(
    <ir_version: 3, opset_import: ["" : 9]>
    g (float[2] X, float[2] W) => (float[2] Y) <float[2] W = {1.0, 2.0}> {
      Y = Add(X, W)
    }
  )");
  ASSERT_TRUE(module);
  EXPECT_EQ(module->irVersion, 3);
  EXPECT_EQ(module->opsetVersion(""), 13);
  EXPECT_EQ(module->graph.inputs, std::vector<std::string>{"X"});
  ASSERT_TRUE(module->graph.findWeight("W"));
  expectRoundTrip(*module);
}

TEST(OnnxImport, ExternalData) {
  TempDir dir;
  std::string data =
      "HEADER!!" + rawBytes(std::vector<float>{1, 2, 3, 4, 5, 6});
  dir.write("weights.bin", data);
  dir.write("model.onnx", serialize(externalModel("weights.bin", 8)));
  auto module = importOnnxFile(dir.file("model.onnx"));
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  const Weight *w = (*module)->graph.findWeight("W");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->data->toFloats(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  // Exported models carry the values inline.
  auto bytes = exportOnnxBytes(**module);
  ASSERT_TRUE(bool(bytes));
  onnx::ModelProto exported;
  ASSERT_TRUE(exported.ParseFromString(*bytes));
  EXPECT_EQ(exported.graph().initializer(0).data_location(),
            onnx::TensorProto::DEFAULT);
  expectRoundTrip(**module);
}

TEST(OnnxImport, MetadataProps) {
  onnx::ModelProto proto = parseModelText(kConvModel);
  for (auto [k, v] : {std::pair{"b_key", "1"}, std::pair{"a_key", "2"}}) {
    auto *p = proto.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  }
  auto module = importProtoOk(proto);
  ASSERT_TRUE(module);
  // File order, not sorted.
  EXPECT_EQ(module->metadata, (std::vector<std::pair<std::string, std::string>>{
                                  {"b_key", "1"}, {"a_key", "2"}}));
  expectRoundTrip(*module);
}

TEST(OnnxImport, InitializerListedAsInputBecomesAWeight) {
  // IR version 3 requires initializers to be graph inputs too.
  auto module = importTextOk(R"(
    <ir_version: 3, opset_import: ["" : 13]>
    g (float[2] X, float[2] W) => (float[2] Y) <float[2] W = {1.0, 2.0}> {
      Y = Add(X, W)
    }
  )");
  ASSERT_TRUE(module);
  EXPECT_EQ(module->graph.inputs, std::vector<std::string>{"X"});
  ASSERT_TRUE(module->graph.findWeight("W"));
  // The exporter lists it as an input again, so the checker accepts it.
  auto bytes = exportOnnxBytes(*module);
  ASSERT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
  onnx::ModelProto exported;
  ASSERT_TRUE(exported.ParseFromString(*bytes));
  EXPECT_EQ(exported.graph().input_size(), 2);
  expectRoundTrip(*module);
}

TEST(OnnxImport, AiOnnxDomainIsTheDefaultDomain) {
  auto module = importTextOk(R"(
    <ir_version: 8, opset_import: ["ai.onnx" : 13]>
    g (float[2] X) => (float[2] Y) { Y = ai.onnx.Relu(X) }
  )");
  ASSERT_TRUE(module);
  EXPECT_EQ(module->opsetImports, (std::map<std::string, int64_t>{{"", 13}}));
  EXPECT_EQ(module->graph.nodes()[0]->domain, "");
  expectRoundTrip(*module);
}

TEST(OnnxImport, ParseInputShapeBinding) {
  std::map<std::string, std::vector<int64_t>> shapes;
  EXPECT_EQ(errorOf(parseInputShapeBinding("input=1,3,48,192", shapes)),
            "<success>");
  EXPECT_EQ(errorOf(parseInputShapeBinding("scalar=", shapes)), "<success>");
  EXPECT_EQ(errorOf(parseInputShapeBinding("a=b=2", shapes)), "<success>");
  EXPECT_EQ(shapes["input"], (std::vector<int64_t>{1, 3, 48, 192}));
  EXPECT_EQ(shapes["scalar"], std::vector<int64_t>{});
  EXPECT_EQ(shapes["a=b"], std::vector<int64_t>{2});

  const char *advice =
      " (expected NAME=D1,D2,... with non-negative sizes, e.g. "
      "input=1,3,224,224)";
  EXPECT_EQ(errorOf(parseInputShapeBinding("noequals", shapes)),
            std::string("invalid input shape 'noequals': no '='") + advice);
  EXPECT_EQ(errorOf(parseInputShapeBinding("=1,2", shapes)),
            std::string("invalid input shape '=1,2': the input name is empty") +
                advice);
  EXPECT_EQ(
      errorOf(parseInputShapeBinding("x=1,a", shapes)),
      std::string(
          "invalid input shape 'x=1,a': 'a' is not a non-negative integer") +
          advice);
  EXPECT_EQ(
      errorOf(parseInputShapeBinding("x=-1", shapes)),
      std::string(
          "invalid input shape 'x=-1': '-1' is not a non-negative integer") +
          advice);
  EXPECT_EQ(errorOf(parseInputShapeBinding("input=1", shapes)),
            "the shape of input 'input' is given twice");
}

} // namespace
