//===- Compatibility.cpp - Which variants fit together at a cut -----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Compares the interface of every live tensor of a boundary between two
// members (Compatibility.h says what an interface is). The matrix is
// computed for every ordered pair, diagonal included, so that a stitcher can
// read it without special cases; the diagonal is "yes" by construction.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Stitch/Compatibility.h"

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/Printer.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace sparseloom {

namespace {

constexpr const char *kLayout = "layout";
constexpr const char *kQuantScale = "quant.scale";
constexpr const char *kQuantZeroPoint = "quant.zero-point";
// ONNX's QDQ convention names where quantization parameters are; these are
// the standard's definition, not a list of ops treated alike.
constexpr const char *kQuantizeOp = "QuantizeLinear";
constexpr const char *kDequantizeOp = "DequantizeLinear";

const Node *producerOf(const Graph &graph, llvm::StringRef value) {
  for (const auto &node : graph.nodes())
    for (const std::string &out : node->outputs)
      if (out == value)
        return node.get();
  return nullptr;
}

/// A constant operand's value as text (small tensors in full, else a hash);
/// a computed one cannot be compared and reads "computed".
std::string operandText(const Graph &graph, const Node &node, size_t index) {
  if (index >= node.inputs.size() || node.inputs[index].empty())
    return "default";
  const Weight *weight = graph.findWeight(node.inputs[index]);
  if (!weight || !weight->data)
    return "computed";
  std::string text;
  llvm::raw_string_ostream os(text);
  const TensorData &data = *weight->data;
  if (data.hasValues() && data.numElements() <= 8 &&
      data.dtype() != DType::String) {
    bool list = !data.dims().empty();
    os << (list ? "[" : "");
    for (int64_t i = 0; i < data.numElements(); ++i)
      os << (i ? ", " : "") << llvm::format("%g", data.elementAsDouble(i));
    os << (list ? "]" : "");
  } else {
    os << formatType(weight->data->type()) << " hash "
       << llvm::format_hex(weight->data->contentHash(), 18);
  }
  return os.str();
}

std::string annotationText(const Node &node, llvm::StringRef key) {
  auto it = node.annotations.find(key.str());
  if (it == node.annotations.end())
    return "";
  std::string text;
  llvm::raw_string_ostream os(text);
  printAttribute(it->second, os);
  return os.str();
}

std::string quantFromAnnotations(const Node &node) {
  std::string scale = annotationText(node, kQuantScale);
  if (scale.empty())
    return "";
  return "scale " + scale + ", zero point " +
         annotationText(node, kQuantZeroPoint);
}

std::string quantFromNode(const Graph &graph, const Node &node) {
  return "scale " + operandText(graph, node, 1) + ", zero point " +
         operandText(graph, node, 2);
}

/// Quantization of `value` as its producer makes it; "" when none.
std::string producedQuantization(const Graph &graph, const Node *producer) {
  if (!producer)
    return "";
  std::string annotated = quantFromAnnotations(*producer);
  if (!annotated.empty())
    return annotated;
  if (producer->domain.empty() && producer->opType == kQuantizeOp)
    return quantFromNode(graph, *producer);
  return "";
}

/// Quantization the readers of `value` expect; "" when none.
std::string expectedQuantization(const Graph &graph, llvm::StringRef value,
                                 const Node *producer) {
  for (const auto &node : graph.nodes())
    if (node->domain.empty() && node->opType == kDequantizeOp &&
        !node->inputs.empty() && node->inputs[0] == value)
      return quantFromNode(graph, *node);
  return producedQuantization(graph, producer);
}

std::string layoutOf(const Node *producer) {
  if (!producer)
    return "default";
  auto it = producer->annotations.find(kLayout);
  if (it == producer->annotations.end() ||
      it->second.kind() != Attribute::Kind::String)
    return "default";
  return it->second.getString();
}

} // namespace

std::string interfaceMismatch(const Family &family, const FamilyValueMap &map,
                              unsigned producer, unsigned consumer,
                              llvm::StringRef refValue) {
  const FamilyMember &a = family.members[producer];
  const FamilyMember &b = family.members[consumer];
  std::string va = map.toMember(producer, refValue);
  std::string vb = map.toMember(consumer, refValue);
  std::string quoted = "'" + refValue.str() + "'";
  if (va.empty() || vb.empty())
    return quoted + ": no counterpart in \"" +
           (va.empty() ? a.variant : b.variant) + "\"";
  const Graph &ga = a.module->graph, &gb = b.module->graph;
  std::string from =
      " from \"" + a.variant + "\", \"" + b.variant + "\" expects ";

  std::vector<std::string> reasons;
  TensorType ta = ga.getType(va), tb = gb.getType(vb);
  if (ta.dtype != tb.dtype)
    reasons.push_back("element type " + dtypeName(ta.dtype).str() + from +
                      dtypeName(tb.dtype).str());
  else if (ta != tb)
    reasons.push_back("shape " + formatType(ta) + from + formatType(tb));

  const Node *pa = producerOf(ga, va), *pb = producerOf(gb, vb);
  std::string la = layoutOf(pa), lb = layoutOf(pb);
  if (la != lb)
    reasons.push_back("layout " + la + from + lb);

  std::string qa = producedQuantization(ga, pa);
  std::string qb = expectedQuantization(gb, vb, pb);
  if (qa != qb)
    reasons.push_back("quantization " + (qa.empty() ? "none" : qa) + from +
                      (qb.empty() ? "none" : qb));

  std::string text;
  for (const std::string &reason : reasons)
    text += (text.empty() ? quoted + ": " : ", ") + reason;
  return text;
}

llvm::Error checkCompatibility(Family &family) {
  const std::string &file = family.members.front().file;
  if (!family.state.alignment)
    return withFile(makeError("check-compat needs the family alignment: run "
                              "align-family first (e.g. --pass-pipeline="
                              "align-family,detect-boundaries,check-compat)"),
                    file);
  if (!family.state.boundariesDetected)
    return withFile(makeError("check-compat needs the chosen boundaries: run "
                              "detect-boundaries first (e.g. --pass-pipeline="
                              "align-family,detect-boundaries,check-compat)"),
                    file);
  auto map = FamilyValueMap::build(family);
  if (!map)
    return map.takeError();

  const size_t k = family.size();
  std::vector<BoundaryCompatibility> result;
  for (const FamilyBoundary &boundary : family.state.chosen) {
    BoundaryCompatibility compat;
    compat.stitchable.assign(k, std::vector<bool>(k, true));
    compat.reasons.assign(k, std::vector<std::string>(k));
    for (unsigned a = 0; a < k; ++a)
      for (unsigned b = 0; b < k; ++b) {
        if (a == b)
          continue;
        std::string reasons;
        for (const std::string &value : boundary.liveTensors) {
          std::string why = interfaceMismatch(family, *map, a, b, value);
          if (!why.empty())
            reasons += (reasons.empty() ? "" : "; ") + why;
        }
        compat.stitchable[a][b] = reasons.empty();
        compat.reasons[a][b] = std::move(reasons);
      }
    result.push_back(std::move(compat));
  }
  family.state.compatibility = std::move(result);
  return llvm::Error::success();
}

} // namespace sparseloom
