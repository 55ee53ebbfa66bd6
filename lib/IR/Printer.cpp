//===- Printer.cpp - The textual form of the IR ---------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Writes a Module in the form docs/IRFormat.md describes. The output is a
// function of the Module alone (maps are sorted, nodes and weights keep their
// order, floats use their shortest exact spelling), so lit tests can match it
// and print(parse(text)) == text for any text this file wrote. Every spelling
// decision that the parser must mirror (bare vs quoted names, float literals)
// lives in Lexer.h.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Printer.h"

#include "Lexer.h"

#include <cassert>
#include <cstring>

namespace sparseloom {

namespace {

class Printer {
public:
  Printer(llvm::raw_ostream &os, const PrintOptions &options)
      : os_(os), options_(options) {}

  void printModule(const Module &module);
  void printAttribute(const Attribute &attr);

private:
  void printString(llvm::StringRef s);
  void printValueName(llvm::StringRef name);
  /// An attribute key, op name, domain or dim symbol.
  void printName(llvm::StringRef name);
  void printType(const TensorType &type);
  void printAttributeMap(const AttributeMap &map);
  void printTensorBody(const TensorData &data);
  void printElement(DType dtype, const uint8_t *p);
  void printNode(const Graph &graph, const Node &node);

  llvm::raw_ostream &os_;
  const PrintOptions &options_;
};

void Printer::printString(llvm::StringRef s) {
  std::string out;
  text::appendQuoted(out, s);
  os_ << out;
}

void Printer::printValueName(llvm::StringRef name) {
  os_ << '%';
  if (text::isBareValueName(name))
    os_ << name;
  else
    printString(name);
}

void Printer::printName(llvm::StringRef name) {
  if (text::isIdentifier(name))
    os_ << name;
  else
    printString(name);
}

void Printer::printType(const TensorType &type) {
  // The same spelling as formatType(), except that a symbol which is not an
  // identifier (a number, "?", spaces) is quoted so it parses back as itself.
  if (type.dtype == DType::Undefined && !type.dims) {
    os_ << '?';
    return;
  }
  os_ << (type.dtype == DType::Undefined ? llvm::StringRef("?")
                                         : dtypeName(type.dtype));
  if (!type.dims) {
    os_ << "[*]";
    return;
  }
  os_ << '[';
  for (size_t i = 0; i < type.dims->size(); ++i) {
    if (i)
      os_ << ',';
    const Dim &d = (*type.dims)[i];
    if (d.isKnown())
      os_ << d.size();
    else if (d.isSymbolic())
      printName(d.symbol());
    else
      os_ << '?';
  }
  os_ << ']';
}

void Printer::printElement(DType dtype, const uint8_t *p) {
  size_t size = dtypeSize(dtype);
  uint64_t bits = 0;
  std::memcpy(&bits, p, size); // little-endian host, as TensorData assumes
  switch (dtype) {
  case DType::F16:
  case DType::BF16:
  case DType::F32:
  case DType::F64:
    os_ << text::formatFloatBits(bits, dtype);
    return;
  case DType::I8:
    os_ << int64_t(int8_t(bits));
    return;
  case DType::I16:
    os_ << int64_t(int16_t(bits));
    return;
  case DType::I32:
    os_ << int64_t(int32_t(bits));
    return;
  case DType::I64:
    os_ << int64_t(bits);
    return;
  case DType::U8:
  case DType::U16:
  case DType::U32:
  case DType::U64:
  case DType::Bool:
    os_ << bits;
    return;
  case DType::String:
  case DType::Undefined:
    break;
  }
  assert(false && "not a numeric element type");
}

void Printer::printTensorBody(const TensorData &data) {
  bool elide = data.kind() == TensorData::Kind::Elided ||
               (options_.elideWeightsAbove >= 0 &&
                data.numElements() > options_.elideWeightsAbove);
  if (elide) {
    char hash[24];
    std::snprintf(hash, sizeof hash, "0x%016llx",
                  static_cast<unsigned long long>(data.contentHash()));
    os_ << "elided<nnz = " << data.numNonZeros() << ", hash = " << hash << '>';
    return;
  }
  DType dtype = data.dtype();
  size_t esize = dtypeSize(dtype);
  if (data.kind() == TensorData::Kind::SparseCoo) {
    os_ << "sparse<indices = [";
    const auto &indices = data.sparseIndices();
    for (size_t i = 0; i < indices.size(); ++i)
      os_ << (i ? ", " : "") << indices[i];
    os_ << "], values = [";
    llvm::ArrayRef<uint8_t> values = data.sparseValueBytes();
    for (size_t i = 0; i < indices.size() && esize; ++i) {
      os_ << (i ? ", " : "");
      printElement(dtype, values.data() + i * esize);
    }
    os_ << "]>";
    return;
  }
  os_ << "dense<[";
  if (dtype == DType::String) {
    const auto &strings = data.strings();
    for (size_t i = 0; i < strings.size(); ++i) {
      os_ << (i ? ", " : "");
      printString(strings[i]);
    }
  } else {
    llvm::ArrayRef<uint8_t> bytes = data.rawBytes();
    for (size_t i = 0, e = size_t(data.numElements()); i < e; ++i) {
      os_ << (i ? ", " : "");
      printElement(dtype, bytes.data() + i * esize);
    }
  }
  os_ << "]>";
}

void Printer::printAttribute(const Attribute &attr) {
  switch (attr.kind()) {
  case Attribute::Kind::Int:
    os_ << attr.getInt();
    return;
  case Attribute::Kind::Float: {
    float f = attr.getFloat();
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    os_ << text::formatFloatBits(bits, DType::F32);
    return;
  }
  case Attribute::Kind::String:
    printString(attr.getString());
    return;
  case Attribute::Kind::Tensor: {
    const TensorDataRef &data = attr.getTensor();
    assert(data && "tensor attribute without data");
    os_ << "tensor<";
    printType(data->type());
    os_ << "> ";
    printTensorBody(*data);
    return;
  }
  case Attribute::Kind::Ints: {
    const auto &v = attr.getInts();
    // An empty list names its kind: "[]" alone could be any of the three.
    if (v.empty()) {
      os_ << "ints[]";
      return;
    }
    os_ << '[';
    for (size_t i = 0; i < v.size(); ++i)
      os_ << (i ? ", " : "") << v[i];
    os_ << ']';
    return;
  }
  case Attribute::Kind::Floats: {
    const auto &v = attr.getFloats();
    if (v.empty()) {
      os_ << "floats[]";
      return;
    }
    os_ << '[';
    for (size_t i = 0; i < v.size(); ++i) {
      uint32_t bits;
      std::memcpy(&bits, &v[i], 4);
      os_ << (i ? ", " : "") << text::formatFloatBits(bits, DType::F32);
    }
    os_ << ']';
    return;
  }
  case Attribute::Kind::Strings: {
    const auto &v = attr.getStrings();
    if (v.empty()) {
      os_ << "strings[]";
      return;
    }
    os_ << '[';
    for (size_t i = 0; i < v.size(); ++i) {
      os_ << (i ? ", " : "");
      printString(v[i]);
    }
    os_ << ']';
    return;
  }
  }
}

void Printer::printAttributeMap(const AttributeMap &map) {
  os_ << '{';
  bool first = true;
  for (const auto &entry : map) {
    os_ << (first ? "" : ", ");
    first = false;
    printName(entry.first);
    os_ << " = ";
    printAttribute(entry.second);
  }
  os_ << '}';
}

void Printer::printNode(const Graph &graph, const Node &node) {
  os_ << "    ";
  if (node.outputs.empty())
    os_ << "()";
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    os_ << (i ? ", " : "");
    const std::string &out = node.outputs[i];
    if (out.empty()) {
      // An omitted optional output defines nothing and so has no type.
      os_ << "none";
      continue;
    }
    printValueName(out);
    os_ << " : ";
    printType(graph.getType(out));
  }
  os_ << " = ";
  if (!node.domain.empty()) {
    printName(node.domain);
    os_ << "::";
  }
  printName(node.opType);
  os_ << '(';
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    os_ << (i ? ", " : "");
    if (node.inputs[i].empty())
      os_ << "none";
    else
      printValueName(node.inputs[i]);
  }
  os_ << ')';
  if (!node.attributes.empty()) {
    os_ << ' ';
    printAttributeMap(node.attributes);
  }
  if (!node.name.empty()) {
    os_ << " loc(";
    printString(node.name);
    os_ << ')';
  }
  if (!node.annotations.empty()) {
    os_ << " annotate ";
    printAttributeMap(node.annotations);
  }
  os_ << '\n';
}

void Printer::printModule(const Module &module) {
  os_ << "module {\n";
  os_ << "  ir_version = " << module.irVersion << '\n';
  if (!module.producerName.empty() || !module.producerVersion.empty()) {
    os_ << "  producer = ";
    printString(module.producerName);
    os_ << ' ';
    printString(module.producerVersion);
    os_ << '\n';
  }
  if (!module.domain.empty()) {
    os_ << "  domain = ";
    printString(module.domain);
    os_ << '\n';
  }
  if (module.modelVersion != 0)
    os_ << "  model_version = " << module.modelVersion << '\n';
  if (!module.docString.empty()) {
    os_ << "  doc = ";
    printString(module.docString);
    os_ << '\n';
  }
  for (const auto &opset : module.opsetImports) {
    os_ << "  opset ";
    printString(opset.first);
    os_ << " = " << opset.second << '\n';
  }
  for (const auto &kv : module.metadata) {
    os_ << "  metadata ";
    printString(kv.first);
    os_ << " = ";
    printString(kv.second);
    os_ << '\n';
  }
  if (!module.annotations.empty()) {
    os_ << "  annotate ";
    printAttributeMap(module.annotations);
    os_ << '\n';
  }

  const Graph &graph = module.graph;
  os_ << "  graph ";
  printString(graph.name);
  os_ << " (";
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    os_ << (i ? ", " : "");
    printValueName(graph.inputs[i]);
    os_ << " : ";
    printType(graph.getType(graph.inputs[i]));
  }
  os_ << ") -> (";
  for (size_t i = 0; i < graph.outputs.size(); ++i) {
    os_ << (i ? ", " : "");
    printValueName(graph.outputs[i]);
  }
  os_ << ") {\n";
  for (const auto &entry : graph.weights()) {
    const Weight &w = entry.second;
    assert(w.data && "weight without data");
    os_ << "    weight ";
    printValueName(w.name);
    os_ << " : ";
    // The data's own type: it is what defines the stored shape.
    printType(w.data->type());
    os_ << " = ";
    printTensorBody(*w.data);
    if (!w.annotations.empty()) {
      os_ << " annotate ";
      printAttributeMap(w.annotations);
    }
    os_ << '\n';
  }
  for (const auto &node : graph.nodes())
    printNode(graph, *node);
  os_ << "  }\n";
  os_ << "}\n";
}

} // namespace

void printModule(const Module &module, llvm::raw_ostream &os,
                 const PrintOptions &options) {
  Printer(os, options).printModule(module);
}

std::string printModuleToString(const Module &module,
                                const PrintOptions &options) {
  std::string text;
  llvm::raw_string_ostream os(text);
  printModule(module, os, options);
  os.flush();
  return text;
}

void printAttribute(const Attribute &attr, llvm::raw_ostream &os,
                    const PrintOptions &options) {
  Printer(os, options).printAttribute(attr);
}

} // namespace sparseloom
