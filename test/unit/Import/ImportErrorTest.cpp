//===- ImportErrorTest.cpp - ONNX import: every error, word for word ------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// One test per way a model can be rejected, asserting the full diagnostic
// text: the messages are the importer's user interface (and the conformance
// smoke test classifies failures by their wording).
//
//===----------------------------------------------------------------------===//

#include "ImportTestUtils.h"

using namespace sparseloom;
using namespace sparseloom::import_test;

namespace {

std::string importTextError(const char *text, bool runChecker = true) {
  ImportOptions options;
  options.runChecker = runChecker;
  return errorOf(importOnnxText(text, "", options));
}

std::string importProtoError(const onnx::ModelProto &model,
                             bool runChecker = true) {
  ImportOptions options;
  options.runChecker = runChecker;
  return errorOf(importOnnxBytes(serialize(model), "", options));
}

constexpr const char *kRelu = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[N,3] X) => (float[N,3] Y) { Y = Relu(X) }
)";

TEST(OnnxImportError, NotAFile) {
  EXPECT_EQ(errorOf(importOnnxFile("/nonexistent/model.onnx")),
            "/nonexistent/model.onnx: cannot open: No such file or directory");
  TempDir dir;
  EXPECT_EQ(errorOf(importOnnxFile(dir.path())),
            dir.path() + ": cannot open: Is a directory");
}

TEST(OnnxImportError, TruncatedProtobuf) {
  std::string bytes = serialize(parseModelText(kRelu));
  TempDir dir;
  dir.write("truncated.onnx",
            llvm::StringRef(bytes).take_front(bytes.size() / 2));
  EXPECT_EQ(errorOf(importOnnxFile(dir.file("truncated.onnx"))),
            dir.file("truncated.onnx") +
                ": not a valid ONNX model (protobuf parse failed; is the file "
                "truncated?)");
}

TEST(OnnxImportError, CorruptBytes) {
  EXPECT_EQ(
      errorOf(importOnnxBytes("\xff\xff\xff\xff\xff\xff", "")),
      "not a valid ONNX model (protobuf parse failed; is the file truncated?)");
  // Bytes that happen to parse as an (empty) protobuf message.
  EXPECT_EQ(errorOf(importOnnxBytes("", "")),
            "not a valid ONNX model (it has no graph; is this an ONNX file?)");
}

TEST(OnnxImportError, TextSyntaxError) {
  EXPECT_EQ(
      importTextError(
          "<ir_version: 8> g (float[2] X) => (float[2] Y) { Y = Relu(X "),
      "not a valid ONNX text model: [ParseError at position (line: 1 column: "
      "61)]; Error context: <ir_version: 8> g (float[2] X) => (float[2] Y) { Y "
      "= Relu(X; Expected character ) not found.");
}

TEST(OnnxImportError, UnsupportedOpsets) {
  auto withOpset = [](int opset) {
    std::string text = std::string("<ir_version: 8, opset_import: [\"\" : ") +
                       std::to_string(opset) +
                       "]> g (float[2] X) => (float[2] Y) { Y = Relu(X) }";
    return importTextError(text.c_str());
  };
  EXPECT_EQ(withOpset(6),
            "unsupported opset 6 (SparseLoom imports opsets 7 to 17; "
            "convert the model with onnx.version_converter to an opset "
            "in that range)");
  EXPECT_EQ(withOpset(18),
            "unsupported opset 18 (SparseLoom imports opsets 7 to 17; "
            "convert the model with onnx.version_converter to an opset "
            "in that range)");
  EXPECT_EQ(withOpset(7), "<success>");
  EXPECT_EQ(withOpset(17), "<success>");
}

TEST(OnnxImportError, MissingDefaultOpset) {
  onnx::ModelProto proto = parseModelText(kRelu);
  proto.clear_opset_import();
  EXPECT_EQ(importProtoError(proto),
            "the model imports no version of the default ONNX operator set "
            "(opset_import is missing; is the file truncated?)");
}

TEST(OnnxImportError, GraphAttribute) {
  const char *text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (bool c, float[2] X) => (float[2] Y) {
      Y = If (c) <then_branch = t () => (float[2] a) { a = Identity(X) },
                  else_branch = e () => (float[2] b) { b = Neg(X) }>
    }
  )";
  EXPECT_EQ(
      importTextError(text),
      "node If producing 'Y': attribute 'then_branch' of type GRAPH is not "
      "supported");
  onnx::ModelProto proto = parseModelText(text);
  proto.mutable_graph()->mutable_node(0)->set_name("branch");
  EXPECT_EQ(
      importProtoError(proto),
      "node branch: attribute 'then_branch' of type GRAPH is not supported");
}

TEST(OnnxImportError, SparseTensorAttribute) {
  onnx::ModelProto proto = parseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g () => (float[2] Y) { Y = Constant <value_float = 1.0> () }
  )");
  onnx::AttributeProto &attr =
      *proto.mutable_graph()->mutable_node(0)->mutable_attribute(0);
  attr.Clear();
  attr.set_name("sparse_value");
  attr.set_type(onnx::AttributeProto::SPARSE_TENSOR);
  EXPECT_EQ(importProtoError(proto),
            "node Constant producing 'Y': attribute 'sparse_value' of type "
            "SPARSE_TENSOR is not supported");
}

TEST(OnnxImportError, DanglingInput) {
  const char *text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] X) => (float[2,3] Y) { Y = Add(X, Q) }
  )";
  std::string expected =
      "node Add producing 'Y': input 'Q' is not defined: it is "
      "not a graph input, an initializer or the output of any node";
  EXPECT_EQ(importTextError(text), expected);
  EXPECT_EQ(importTextError(text, /*runChecker=*/false), expected);
}

TEST(OnnxImportError, UndefinedGraphOutput) {
  onnx::ModelProto proto = parseModelText(kRelu);
  proto.mutable_graph()->mutable_output(0)->set_name("Z");
  EXPECT_EQ(importProtoError(proto),
            "graph output 'Z' is not defined: it is not a graph input, an "
            "initializer or the output of any node");
}

TEST(OnnxImportError, Cycle) {
  const char *text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] X) => (float[2,3] Y) {
      Y = Relu(B)
      A = Add(X, B)
      B = Relu(A)
    }
  )";
  std::string expected =
      "node Add producing 'A': the graph has a cycle (Add producing 'A' -> "
      "Relu "
      "producing 'B' -> Add producing 'A'); ONNX graphs must be acyclic";
  EXPECT_EQ(importTextError(text), expected);
  EXPECT_EQ(importTextError(text, /*runChecker=*/false), expected);

  EXPECT_EQ(
      importTextError(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] X) => (float[2] Y) { Y = Add(X, Y) }
  )"),
      "node Add producing 'Y': the graph has a cycle (Add producing 'Y' -> Add "
      "producing 'Y'); ONNX graphs must be acyclic");
}

TEST(OnnxImportError, DuplicateNames) {
  EXPECT_EQ(importTextError(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] X) => (float[2,3] Y) {
      Y = Relu(X)
      Y = Neg(X)
    }
  )"),
            "node Neg producing 'Y': value 'Y' is defined twice, by node Relu "
            "producing 'Y' and by this node; every value must be defined "
            "exactly once");
  EXPECT_EQ(
      importTextError(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] X) => (float[2,3] X2) { X = Relu(X) X2 = Neg(X) }
  )",
                      /*runChecker=*/false),
      "node Relu producing 'X': value 'X' is defined twice, by a graph input "
      "and by this node; every value must be defined exactly once");
  EXPECT_EQ(
      importTextError(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] X) => (float[2] Y) <float[2] W = {1, 2}, float[2] W = {3, 4}> {
      Y = Add(X, W)
    }
  )",
                      /*runChecker=*/false),
      "value 'W' is defined twice, by two initializers; every value must be "
      "defined exactly once");
}

TEST(OnnxImportError, EmptyGraph) {
  const char *text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g () => () { }
  )";
  EXPECT_EQ(importTextError(text),
            "the model's graph is empty (no nodes and no outputs)");
  EXPECT_EQ(importTextError(text, /*runChecker=*/false),
            "the model's graph is empty (no nodes and no outputs)");
}

TEST(OnnxImportError, ShapeConflict) {
  EXPECT_EQ(
      importTextError(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] X) => (float[2,7] Y) { Y = Relu(X) }
  )"),
      "node Relu producing 'Y': shape inference failed: Inferred shape and "
      "existing shape differ in dimension 1: (3) vs (7) (check the shapes "
      "declared for the model's inputs, outputs and value_info)");
  onnx::ModelProto proto = parseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] X, float[4,5] Z) => (float[2,3] Y) { Y = Add(X, Z) }
  )");
  proto.mutable_graph()->mutable_node(0)->set_name("/block/add");
  EXPECT_EQ(
      importProtoError(proto),
      "node /block/add: shape inference failed: Incompatible dimensions (check "
      "the shapes declared for the model's inputs, outputs and value_info)");
}

TEST(OnnxImportError, TypeConflict) {
  EXPECT_EQ(
      importTextError(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] X, int64[2] Z) => (float[2] Y) { Y = Add(X, Z) }
  )"),
      "node Add producing 'Y': shape inference failed: B has inconsistent type "
      "tensor(int64) (check the shapes declared for the model's inputs, "
      "outputs "
      "and value_info)");
}

TEST(OnnxImportError, InputShapeBinding) {
  ImportOptions options;
  options.inputShapes["Z"] = {1, 3};
  EXPECT_EQ(errorOf(importOnnxText(kRelu, "", options)),
            "cannot bind the shape of 'Z': the model has no input of that name "
            "(inputs: X)");
  options.inputShapes.clear();
  options.inputShapes["X"] = {1, 3, 1};
  EXPECT_EQ(errorOf(importOnnxText(kRelu, "", options)),
            "cannot bind the shape of input 'X': it has rank 2 but 3 sizes "
            "were given");
  options.inputShapes["X"] = {1, 4};
  EXPECT_EQ(errorOf(importOnnxText(kRelu, "", options)),
            "cannot bind the shape of input 'X': dimension 1 is 3, not 4");
}

TEST(OnnxImportError, UnsupportedElementTypes) {
  EXPECT_EQ(importTextError(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (complex64[2] X) => (complex64[2] Y) { Y = Identity(X) }
  )"),
            "value 'X' has element type COMPLEX64, which SparseLoom does not "
            "support");
  onnx::ModelProto proto = parseModelText(kRelu);
  proto.mutable_graph()
      ->mutable_input(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->set_elem_type(99);
  EXPECT_EQ(
      importProtoError(proto, /*runChecker=*/false),
      "value 'X' has element type code 99, which SparseLoom does not support");
  proto = parseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] X) => (float[2] Y) <float[2] W = {1, 2}> { Y = Add(X, W) }
  )");
  proto.mutable_graph()->mutable_initializer(0)->set_data_type(
      onnx::TensorProto::COMPLEX128);
  EXPECT_EQ(importProtoError(proto), "weight 'W' has element type COMPLEX128, "
                                     "which SparseLoom does not support");
}

TEST(OnnxImportError, NonTensorValues) {
  onnx::ModelProto proto = parseModelText(kRelu);
  onnx::TypeProto elem = proto.graph().input(0).type();
  onnx::TypeProto *type =
      proto.mutable_graph()->mutable_input(0)->mutable_type();
  *type->mutable_sequence_type()->mutable_elem_type() = elem;
  EXPECT_EQ(
      importProtoError(proto),
      "value 'X' has a sequence type; SparseLoom supports tensor values only");
}

TEST(OnnxImportError, WrongNumberOfStoredValues) {
  EXPECT_EQ(importTextError(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] X) => (float[2,3] Y) <float[2,3] W = {1, 2}> { Y = Add(X, W) }
  )"),
            "weight 'W' stores 2 values but its shape [2,3] needs 6");
  onnx::ModelProto proto = parseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] X) => (float[2] Y) <float[2] W = {1, 2}> { Y = Add(X, W) }
  )");
  proto.mutable_graph()->mutable_initializer(0)->clear_float_data();
  proto.mutable_graph()->mutable_initializer(0)->set_raw_data("abc");
  EXPECT_EQ(importProtoError(proto),
            "weight 'W' has 3 bytes of raw_data but its shape needs 8");
}

TEST(OnnxImportError, BadSparseInitializers) {
  auto model = [](std::vector<int64_t> indices) {
    onnx::ModelProto proto = parseModelText(R"(
      <ir_version: 8, opset_import: ["" : 13]>
      g (float[4] X) => (float[4] Y) { Y = Add(X, S) }
    )");
    onnx::SparseTensorProto &sparse =
        *proto.mutable_graph()->add_sparse_initializer();
    sparse.add_dims(4);
    sparse.mutable_values()->set_name("S");
    sparse.mutable_values()->set_data_type(onnx::TensorProto::FLOAT);
    sparse.mutable_values()->add_dims(2);
    sparse.mutable_values()->add_float_data(1);
    sparse.mutable_values()->add_float_data(2);
    sparse.mutable_indices()->set_data_type(onnx::TensorProto::INT64);
    sparse.mutable_indices()->add_dims(int64_t(indices.size()));
    for (int64_t i : indices)
      sparse.mutable_indices()->add_int64_data(i);
    return proto;
  };
  EXPECT_EQ(importProtoError(model({1, 1}), /*runChecker=*/false),
            "sparse weight 'S' has the sparse index 1 twice");
  EXPECT_EQ(importProtoError(model({0, 4}), /*runChecker=*/false),
            "sparse weight 'S' has sparse index 4 outside its 4 elements");
  EXPECT_EQ(importProtoError(model({0}), /*runChecker=*/false),
            "sparse weight 'S' has sparse indices of shape [1]; expected [2] "
            "or [2,1]");
}

TEST(OnnxImportError, MissingOrShortExternalData) {
  TempDir dir;
  auto model = [](const std::string &location) {
    return externalModel(location, 8);
  };
  dir.write("missing.onnx", serialize(model("missing.bin")));
  EXPECT_EQ(errorOf(importOnnxFile(dir.file("missing.onnx"))),
            dir.file("missing.onnx") +
                ": weight 'W': cannot open external data file '" +
                dir.file("missing.bin") + "': No such file or directory");

  dir.write("short.bin", std::string(20, 'x'));
  dir.write("short.onnx", serialize(model("short.bin")));
  EXPECT_EQ(errorOf(importOnnxFile(dir.file("short.onnx"))),
            dir.file("short.onnx") + ": weight 'W': external data file '" +
                dir.file("short.bin") +
                "' is too short: needs 24 bytes at offset 8 but the file has "
                "20 bytes");

  dir.write("escape.onnx", serialize(model("../outside.bin")));
  EXPECT_EQ(
      errorOf(importOnnxFile(dir.file("escape.onnx"))),
      dir.file("escape.onnx") +
          ": weight 'W': external data location '../outside.bin' must not "
          "leave the model's directory");
  dir.write("absolute.onnx", serialize(model("/etc/passwd")));
  EXPECT_EQ(
      errorOf(importOnnxFile(dir.file("absolute.onnx"))),
      dir.file("absolute.onnx") +
          ": weight 'W': external data location '/etc/passwd' must be a path "
          "relative to the model's directory");
}

TEST(OnnxImportError, CheckerRejection) {
  onnx::ModelProto proto = parseModelText(kRelu);
  proto.mutable_graph()->mutable_node(0)->add_input("X");
  proto.mutable_graph()->mutable_node(0)->set_name("relu1");
  EXPECT_EQ(
      importProtoError(proto),
      "node relu1: the ONNX checker rejected the node: Node (relu1) has input "
      "size 2 not in range [min=1, max=1].");
  // An unnamed node is named the way every other diagnostic names it.
  proto.mutable_graph()->mutable_node(0)->clear_name();
  EXPECT_EQ(
      importProtoError(proto),
      "node Relu producing 'Y': the ONNX checker rejected the node: Node (Relu "
      "producing 'Y') has input size 2 not in range [min=1, max=1].");
}

TEST(OnnxImportError, OnnxCrashIsAnError) {
  // ONNX 1.12's Conv shape inference divides by the stride.
  EXPECT_EQ(
      importTextError(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,1,4,4] X, float[1,1,3,3] W) => (float[1,1,2,2] Y) {
      Y = Conv <strides = [0, 0]> (X, W)
    }
  )"),
      "ONNX crashed (signal 8, Floating point exception) while checking the "
      "model and inferring its shapes; the model is malformed in a way ONNX "
      "1.12 does not diagnose (check attribute values such as strides, pads "
      "and axes, and the ranks of the inputs)");
}

TEST(OnnxImportError, ModelLocalFunctions) {
  onnx::ModelProto proto = parseModelText(kRelu);
  onnx::FunctionProto &fn = *proto.add_functions();
  fn.set_name("MyFn");
  fn.set_domain("local");
  EXPECT_EQ(
      importProtoError(proto),
      "model-local function 'local:MyFn' is not supported; export the model "
      "without local functions (inline them)");
}

} // namespace
