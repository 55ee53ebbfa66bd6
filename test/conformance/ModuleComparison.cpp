//===- ModuleComparison.cpp - Structural equality of Modules --------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Field-by-field comparison behind describeModuleDifference(). Every check
// returns at the first difference with a message that names the model part,
// so a failing round trip points straight at what the exporter or importer
// lost.
//
//===----------------------------------------------------------------------===//

#include "ModuleComparison.h"

#include "llvm/ADT/STLExtras.h"

#include <sstream>

namespace sparseloom {
namespace testsupport {

namespace {

template <typename T> std::string join(const std::vector<T> &items) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < items.size(); ++i)
    os << (i ? "," : "") << items[i];
  os << "]";
  return os.str();
}

std::string describeAttribute(const Attribute &attr) {
  std::ostringstream os;
  os << attributeKindName(attr.kind()).str() << " ";
  switch (attr.kind()) {
  case Attribute::Kind::Int:
    os << attr.getInt();
    break;
  case Attribute::Kind::Float:
    os << attr.getFloat();
    break;
  case Attribute::Kind::String:
    os << '"' << attr.getString() << '"';
    break;
  case Attribute::Kind::Tensor:
    os << formatType(attr.getTensor()->type()) << " hash "
       << attr.getTensor()->contentHash();
    break;
  case Attribute::Kind::Ints:
    os << join(attr.getInts());
    break;
  case Attribute::Kind::Floats:
    os << join(attr.getFloats());
    break;
  case Attribute::Kind::Strings:
    os << join(attr.getStrings());
    break;
  }
  return os.str();
}

std::string compareAttributes(const AttributeMap &a, const AttributeMap &b,
                              const std::string &where) {
  for (const auto &[name, value] : a) {
    auto it = b.find(name);
    if (it == b.end())
      return where + ": '" + name + "' is missing on the right";
    if (value != it->second)
      return where + ": '" + name + "' differs: " + describeAttribute(value) +
             " vs " + describeAttribute(it->second);
  }
  for (const auto &entry : b)
    if (!a.count(entry.first))
      return where + ": '" + entry.first + "' is missing on the left";
  return "";
}

std::string compareTensors(const TensorData &a, const TensorData &b,
                           const std::string &where) {
  if (a.kind() != b.kind())
    return where + ": storage kind differs (" + std::to_string(int(a.kind())) +
           " vs " + std::to_string(int(b.kind())) + ")";
  if (a.dtype() != b.dtype() || a.dims() != b.dims())
    return where + ": type differs (" + formatType(a.type()) + " vs " +
           formatType(b.type()) + ")";
  if (a.contentHash() != b.contentHash() || a.numNonZeros() != b.numNonZeros())
    return where + ": contents differ";
  switch (a.kind()) {
  case TensorData::Kind::Dense:
    if (a.dtype() == DType::String ? a.strings() != b.strings()
                                   : a.rawBytes() != b.rawBytes())
      return where + ": values differ";
    break;
  case TensorData::Kind::SparseCoo:
    if (a.sparseIndices() != b.sparseIndices())
      return where + ": sparse indices differ";
    if (a.sparseValueBytes() != b.sparseValueBytes())
      return where + ": sparse values differ";
    break;
  case TensorData::Kind::Elided:
    break;
  }
  return "";
}

std::string compareNodes(const Node &a, const Node &b, size_t index) {
  std::string where =
      "node #" + std::to_string(index) + " (" + a.displayName() + ")";
  if (a.opType != b.opType || a.domain != b.domain)
    return where + ": op differs (" + a.domain + ":" + a.opType + " vs " +
           b.domain + ":" + b.opType + ")";
  if (a.name != b.name)
    return where + ": name differs ('" + a.name + "' vs '" + b.name + "')";
  if (a.inputs != b.inputs)
    return where + ": inputs differ (" + join(a.inputs) + " vs " +
           join(b.inputs) + ")";
  if (a.outputs != b.outputs)
    return where + ": outputs differ (" + join(a.outputs) + " vs " +
           join(b.outputs) + ")";
  std::string diff =
      compareAttributes(a.attributes, b.attributes, where + " attribute");
  if (!diff.empty())
    return diff;
  // Attribute== compares tensors by hash; also compare their storage.
  for (const auto &[name, attr] : a.attributes)
    if (attr.kind() == Attribute::Kind::Tensor) {
      diff =
          compareTensors(*attr.getTensor(), *b.attributes.at(name).getTensor(),
                         where + " attribute '" + name + "'");
      if (!diff.empty())
        return diff;
    }
  return compareAttributes(a.annotations, b.annotations, where + " annotation");
}

std::string compareGraphs(const Graph &a, const Graph &b) {
  if (a.name != b.name)
    return "graph name differs ('" + a.name + "' vs '" + b.name + "')";
  if (a.inputs != b.inputs)
    return "graph inputs differ (" + join(a.inputs) + " vs " + join(b.inputs) +
           ")";
  if (a.outputs != b.outputs)
    return "graph outputs differ (" + join(a.outputs) + " vs " +
           join(b.outputs) + ")";
  if (a.numNodes() != b.numNodes())
    return "node count differs (" + std::to_string(a.numNodes()) + " vs " +
           std::to_string(b.numNodes()) + ")";
  for (size_t i = 0; i < a.numNodes(); ++i) {
    std::string diff = compareNodes(*a.nodes()[i], *b.nodes()[i], i);
    if (!diff.empty())
      return diff;
  }
  if (a.weights().size() != b.weights().size())
    return "weight count differs (" + std::to_string(a.weights().size()) +
           " vs " + std::to_string(b.weights().size()) + ")";
  for (size_t i = 0; i < a.weights().size(); ++i) {
    const Weight &wa = (a.weights().begin() + i)->second;
    const Weight &wb = (b.weights().begin() + i)->second;
    if (wa.name != wb.name)
      return "weight #" + std::to_string(i) + " differs in name ('" + wa.name +
             "' vs '" + wb.name + "')";
    std::string diff =
        compareTensors(*wa.data, *wb.data, "weight '" + wa.name + "'");
    if (diff.empty())
      diff = compareAttributes(wa.annotations, wb.annotations,
                               "weight '" + wa.name + "' annotation");
    if (!diff.empty())
      return diff;
  }
  for (const auto &[name, type] : a.types()) {
    if (!b.hasType(name))
      return "value '" + name + "' has a type only on the left (" +
             formatType(type) + ")";
    if (b.getType(name) != type)
      return "type of '" + name + "' differs (" + formatType(type) + " vs " +
             formatType(b.getType(name)) + ")";
  }
  for (const auto &entry : b.types())
    if (!a.hasType(entry.first))
      return "value '" + entry.first + "' has a type only on the right (" +
             formatType(entry.second) + ")";
  return "";
}

} // namespace

std::string describeModuleDifference(const Module &a, const Module &b) {
  if (a.irVersion != b.irVersion)
    return "ir_version differs (" + std::to_string(a.irVersion) + " vs " +
           std::to_string(b.irVersion) + ")";
  if (a.producerName != b.producerName ||
      a.producerVersion != b.producerVersion)
    return "producer differs";
  if (a.domain != b.domain)
    return "model domain differs";
  if (a.modelVersion != b.modelVersion)
    return "model_version differs";
  if (a.docString != b.docString)
    return "doc_string differs";
  if (a.opsetImports != b.opsetImports) {
    std::string left, right;
    for (const auto &[d, v] : a.opsetImports)
      left += " '" + d + "':" + std::to_string(v);
    for (const auto &[d, v] : b.opsetImports)
      right += " '" + d + "':" + std::to_string(v);
    return "opset imports differ (" + left + " vs" + right + ")";
  }
  if (a.metadata != b.metadata)
    return "metadata_props differ";
  std::string diff =
      compareAttributes(a.annotations, b.annotations, "module annotation");
  if (!diff.empty())
    return diff;
  return compareGraphs(a.graph, b.graph);
}

} // namespace testsupport
} // namespace sparseloom
