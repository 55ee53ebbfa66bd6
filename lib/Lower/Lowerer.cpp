//===- Lowerer.cpp - Tensors, liveness, memory plan and report ------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The driver of one lowering (Lowerer.h): defines the graph inputs, visits
// the nodes in topological order through the rule table, defines the graph
// outputs, then computes each arena buffer's live range over the program's
// op order and plans the arena. Tensors that view the same buffer (an
// aliased Reshape, the 2-D view of a MatMul operand) share one live range,
// the union of theirs, which is what makes aliasing safe: every tensor is
// written once, by its producer, and read only after that.
//
// The scratch figure comes from the runtime's own sizing function
// (runtime::opScratchBytes), so the compiler never guesses what the kernels
// need.
//
//===----------------------------------------------------------------------===//

#include "Lowerer.h"

#include "sparseloom/IR/OpRegistry.h"
#include "sparseloom/Lower/MemoryPlan.h"
#include "sparseloom/Runtime/OpRegistry.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/Format.h"

#include <algorithm>
#include <cassert>

namespace sparseloom {

using format::Encoding;
using format::KernelId;
using format::Opcode;
using format::TensorKind;

namespace lower {

namespace {

/// The runtime's element types, by IR type.
std::optional<format::DType> runtimeDType(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return format::DType::F32;
  case DType::U8:
    return format::DType::U8;
  case DType::I8:
    return format::DType::I8;
  case DType::I32:
    return format::DType::I32;
  case DType::I64:
    return format::DType::I64;
  case DType::Bool:
    return format::DType::Bool;
  default:
    return std::nullopt;
  }
}

uint64_t elementSize(format::DType dtype) {
  switch (dtype) {
  case format::DType::F32:
  case format::DType::I32:
    return 4;
  case format::DType::I64:
    return 8;
  case format::DType::U8:
  case format::DType::I8:
  case format::DType::Bool:
    return 1;
  }
  return 0;
}

uint64_t numElements(const std::vector<int64_t> &dims) {
  uint64_t n = 1;
  for (int64_t d : dims)
    n *= uint64_t(d);
  return n;
}

std::string shapeText(const std::vector<int64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

} // namespace

const char *encodingName(Encoding encoding) {
  switch (encoding) {
  case Encoding::Dense:
    return "Dense";
  case Encoding::Csr:
    return "Csr";
  case Encoding::BlockSparse:
    return "BlockSparse4x1";
  case Encoding::PackedPanels:
    return "PackedPanels";
  case Encoding::PaddedPlanes:
    return "PaddedPlanes";
  }
  return "?";
}

Lowerer::Lowerer(const Module &module, const LowerOptions &options,
                 LoweringReport &report)
    : module_(module), graph_(module.graph), options_(options), report_(report),
      thresholds_(options.thresholds ? *options.thresholds
                                     : builtinKernelThresholds()),
      uses_(module.graph) {}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

llvm::Expected<std::vector<int64_t>>
Lowerer::staticDims(const Node &node, const std::string &value) {
  TensorType type = graph_.getType(value);
  if (!type.isStatic())
    return makeNodeError(
        node.displayName(),
        "the shape of '" + value + "' is " + formatType(type) +
            ", not static; bind the graph inputs' dimensions with "
            "--input-shape NAME=d0,d1,... so that every shape is known");
  if (type.rank() > format::kMaxRank)
    return makeNodeError(node.displayName(),
                         "'" + value + "' has rank " +
                             std::to_string(type.rank()) +
                             "; the runtime supports rank <= " +
                             std::to_string(format::kMaxRank));
  return type.sizes();
}

llvm::Expected<format::DType>
Lowerer::formatDType(const Node &node, const std::string &value, DType dtype) {
  if (auto d = runtimeDType(dtype))
    return *d;
  return makeNodeError(node.displayName(),
                       "'" + value + "' has element type " +
                           dtypeName(dtype).str() +
                           ", which the runtime does not support (f32, u8, "
                           "i8, i32, i64, bool); cast it before export");
}

llvm::Expected<uint32_t> Lowerer::defineOutput(const Node &node,
                                               const std::string &value) {
  assert(!value.empty() && !values_.count(value) && "value defined twice");
  auto dims = staticDims(node, value);
  if (!dims)
    return dims.takeError();
  auto dtype = formatDType(node, value, graph_.getType(value).dtype);
  if (!dtype)
    return dtype.takeError();
  ProgramTensor t;
  t.name = value;
  t.dtype = *dtype;
  t.kind = TensorKind::Activation;
  t.dims = *dims;
  t.bytes = numElements(t.dims) * elementSize(t.dtype);
  t.storage = int(draft_.storages.size());
  Storage storage;
  storage.bytes = t.bytes;
  draft_.storages.push_back(storage);
  uint32_t id = uint32_t(draft_.tensors.size());
  draft_.tensors.push_back(std::move(t));
  values_[value] = id;
  return id;
}

uint32_t Lowerer::defineView(uint32_t base, const std::string &name,
                             std::vector<int64_t> dims) {
  ProgramTensor t = draft_.tensors[base];
  assert(t.kind == TensorKind::Activation && "only activations have views");
  assert(numElements(dims) * elementSize(t.dtype) == t.bytes &&
         "a view must cover its buffer exactly");
  t.name = name;
  t.dims = std::move(dims);
  uint32_t id = uint32_t(draft_.tensors.size());
  draft_.tensors.push_back(std::move(t));
  return id;
}

llvm::Expected<uint32_t> Lowerer::use(const Node &node,
                                      const std::string &value) {
  auto it = values_.find(value);
  if (it != values_.end())
    return it->second;
  const Weight *w = graph_.findWeight(value);
  if (!w)
    return makeNodeError(node.displayName(),
                         "reads '" + value + "', which is not defined");
  const std::string key = "dense:" + value;
  auto known = weights_.find(key);
  if (known != weights_.end())
    return known->second;
  if (!w->data->hasValues())
    return makeNodeError(node.displayName(),
                         "weight '" + value +
                             "' has no values (it was elided from textual "
                             "IR); lower the ONNX model, or print the IR with "
                             "--print-weights=all");
  auto dtype = formatDType(node, value, w->data->dtype());
  if (!dtype)
    return dtype.takeError();
  if (w->data->dims().size() > format::kMaxRank)
    return makeNodeError(node.displayName(),
                         "weight '" + value + "' has rank above " +
                             std::to_string(format::kMaxRank));
  ProgramTensor t;
  t.name = value;
  t.dtype = *dtype;
  t.kind = TensorKind::Weight;
  t.encoding = Encoding::Dense;
  t.dims = w->data->dims();
  t.data = w->data->denseBytes();
  t.bytes = t.data.size();
  uint32_t id = uint32_t(draft_.tensors.size());
  draft_.tensors.push_back(std::move(t));
  weights_[key] = id;
  return id;
}

uint32_t Lowerer::floatWeight(const std::string &key, const std::string &name,
                              std::vector<int64_t> dims,
                              const std::vector<float> &values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(float));
  if (!values.empty())
    std::memcpy(bytes.data(), values.data(), bytes.size());
  return encodedWeight(key, name, std::move(dims), Encoding::Dense,
                       std::move(bytes));
}

uint32_t Lowerer::encodedWeight(const std::string &key, const std::string &name,
                                std::vector<int64_t> dims, Encoding encoding,
                                std::vector<uint8_t> bytes) {
  const std::string fullKey =
      std::string(encodingName(encoding)) + ":" + key + shapeText(dims);
  auto known = weights_.find(fullKey);
  if (known != weights_.end())
    return known->second;
  ProgramTensor t;
  t.name = name;
  t.dtype = format::DType::F32;
  t.kind = TensorKind::Weight;
  t.encoding = encoding;
  t.dims = std::move(dims);
  t.data = std::move(bytes);
  t.bytes = t.data.size();
  uint32_t id = uint32_t(draft_.tensors.size());
  draft_.tensors.push_back(std::move(t));
  weights_[fullKey] = id;
  return id;
}

//===----------------------------------------------------------------------===//
// Constant operands
//===----------------------------------------------------------------------===//

const Weight *Lowerer::constantOperand(const Node &node, size_t index) const {
  if (index >= node.inputs.size() || node.inputs[index].empty())
    return nullptr;
  const Weight *w = graph_.findWeight(node.inputs[index]);
  return w && w->data->hasValues() ? w : nullptr;
}

llvm::Expected<std::optional<std::vector<int64_t>>>
Lowerer::constantInts(const Node &node, size_t index, const char *what) {
  if (index >= node.inputs.size() || node.inputs[index].empty())
    return std::nullopt;
  const Weight *w = constantOperand(node, index);
  if (!w || (w->data->dtype() != DType::I64 && w->data->dtype() != DType::I32))
    return makeNodeError(
        node.displayName(),
        std::string(what) + " (input " + std::to_string(index) + ", '" +
            node.inputs[index] +
            "') must be an integer constant, but it is computed at run "
            "time; the runtime needs it resolved at compile time (bind the "
            "input shapes with --input-shape so that canonicalize can fold "
            "it)");
  return w->data->toInt64s();
}

llvm::Expected<std::optional<double>>
Lowerer::constantScalar(const Node &node, size_t index, const char *what) {
  if (index >= node.inputs.size() || node.inputs[index].empty())
    return std::nullopt;
  const Weight *w = constantOperand(node, index);
  if (!w || w->data->numElements() != 1)
    return makeNodeError(node.displayName(),
                         std::string(what) + " (input " +
                             std::to_string(index) + ", '" +
                             node.inputs[index] +
                             "') must be a constant scalar; the runtime "
                             "resolves it at compile time");
  return w->data->elementAsDouble(0);
}

llvm::Expected<int64_t> Lowerer::normalizeAxis(const Node &node, int64_t axis,
                                               int64_t rank, const char *what) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return makeNodeError(node.displayName(), std::string(what) + " " +
                                                 std::to_string(axis) +
                                                 " is out of range for rank " +
                                                 std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

bool Lowerer::isUnused(const std::string &value) const {
  return value.empty() || uses_.isDead(value);
}

//===----------------------------------------------------------------------===//
// Emission
//===----------------------------------------------------------------------===//

void Lowerer::emit(const Node &node, Opcode opcode, KernelId kernel,
                   std::vector<uint32_t> inputs, std::vector<uint32_t> outputs,
                   std::vector<uint8_t> params, LoweredOp info) {
  ProgramOp op;
  op.opcode = opcode;
  op.kernel = kernel;
  op.inputs = std::move(inputs);
  op.outputs = std::move(outputs);
  op.params = std::move(params);
  op.name = node.name.empty() ? node.displayName() : node.name;
  draft_.ops.push_back(std::move(op));

  info.node = node.displayName();
  if (info.sourceOps.empty())
    info.sourceOps = node.opType;
  const char *opName = runtime::opcodeName(opcode);
  const char *kernelName = runtime::kernelIdName(kernel);
  info.opcode = opName ? opName : "?";
  info.kernel = kernelName ? kernelName : "?";
  if (info.reason.empty())
    info.reason = kernel == KernelId::Reference
                      ? "portable reference kernel (no fast path for this op)"
                      : "fast path";
  report_.ops.push_back(std::move(info));
}

llvm::Error Lowerer::emitPlain(const Node &node, Opcode opcode,
                               std::vector<uint8_t> params, KernelId kernel) {
  std::vector<uint32_t> inputs, outputs;
  for (const std::string &in : node.inputs) {
    if (in.empty()) {
      inputs.push_back(format::kNoTensor);
      continue;
    }
    auto id = use(node, in);
    if (!id)
      return id.takeError();
    inputs.push_back(*id);
  }
  // Trailing omitted inputs carry no information.
  while (!inputs.empty() && inputs.back() == format::kNoTensor)
    inputs.pop_back();
  for (const std::string &out : node.outputs) {
    if (out.empty())
      return makeNodeError(node.displayName(),
                           "an omitted output is not supported for " +
                               node.opType);
    auto id = defineOutput(node, out);
    if (!id)
      return id.takeError();
    outputs.push_back(*id);
  }
  emit(node, opcode, kernel, std::move(inputs), std::move(outputs),
       std::move(params));
  return llvm::Error::success();
}

void Lowerer::markFused(const Node &node, const std::string &why) {
  consumed_.insert(&node);
  report_.elidedNodes.push_back({node.displayName(), why});
}

//===----------------------------------------------------------------------===//
// Graph inputs and outputs
//===----------------------------------------------------------------------===//

llvm::Error Lowerer::defineGraphInputs() {
  for (const std::string &input : graph_.inputs) {
    TensorType type = graph_.getType(input);
    if (!type.hasRank())
      return makeNodeError(input, "graph input '" + input +
                                      "' has no known rank; the runtime needs "
                                      "static shapes: bind it with "
                                      "--input-shape " +
                                      input + "=d0,d1,...");
    for (size_t i = 0; i < type.rank(); ++i) {
      const Dim &d = (*type.dims)[i];
      if (d.isKnown())
        continue;
      std::string what = d.isSymbolic() ? "symbolic ('" + d.symbol() + "')"
                                        : std::string("unknown");
      return makeNodeError(input, "dimension " + std::to_string(i) +
                                      " of graph input '" + input + "' is " +
                                      what +
                                      "; the runtime needs static shapes: "
                                      "bind it with --input-shape " +
                                      input + "=d0,d1,...");
    }
    Node pseudo;
    pseudo.name = input;
    auto id = defineOutput(pseudo, input);
    if (!id)
      return id.takeError();
    draft_.inputs.push_back(*id);
  }
  return llvm::Error::success();
}

llvm::Error Lowerer::defineGraphOutputs() {
  for (const std::string &output : graph_.outputs) {
    auto it = values_.find(output);
    if (it != values_.end()) {
      draft_.outputs.push_back(it->second);
      continue;
    }
    // A weight that is a graph output: the executor copies outputs out of
    // the arena, so copy the constant into it.
    const Weight *w = graph_.findWeight(output);
    if (!w)
      return makeNodeError(output, "graph output '" + output +
                                       "' is not defined by any node");
    Node copy;
    copy.name = output;
    copy.opType = "Identity";
    auto in = use(copy, output);
    if (!in)
      return in.takeError();
    ProgramTensor t = draft_.tensors[*in];
    t.kind = TensorKind::Activation;
    t.encoding = Encoding::Dense;
    t.data.clear();
    t.storage = int(draft_.storages.size());
    Storage storage;
    storage.bytes = t.bytes;
    draft_.storages.push_back(storage);
    uint32_t id = uint32_t(draft_.tensors.size());
    draft_.tensors.push_back(std::move(t));
    LoweredOp info;
    info.reason = "the graph output is a constant: copied into the arena";
    emit(copy, Opcode::Identity, KernelId::Reference, {*in}, {id}, {}, info);
    values_[output] = id;
    draft_.outputs.push_back(id);
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Liveness, memory plan, scratch
//===----------------------------------------------------------------------===//

void Lowerer::planMemoryAndScratch() {
  auto touch = [&](uint32_t tensor, int64_t step) {
    if (tensor == format::kNoTensor)
      return;
    const ProgramTensor &t = draft_.tensors[tensor];
    if (t.kind != TensorKind::Activation)
      return;
    Storage &s = draft_.storages[size_t(t.storage)];
    s.firstStep = std::min(s.firstStep, step);
    s.lastStep = std::max(s.lastStep, step);
  };
  for (uint32_t input : draft_.inputs)
    touch(input, 0);
  for (size_t i = 0; i < draft_.ops.size(); ++i) {
    for (uint32_t t : draft_.ops[i].inputs)
      touch(t, int64_t(i) + 1);
    for (uint32_t t : draft_.ops[i].outputs)
      touch(t, int64_t(i) + 1);
  }
  for (uint32_t output : draft_.outputs)
    touch(output, int64_t(draft_.ops.size()) + 1);

  std::vector<BufferRequest> requests;
  for (Storage &s : draft_.storages) {
    if (s.firstStep > s.lastStep)   // defined but never touched: cannot be
      s.firstStep = s.lastStep = 0; // (every output is written), but be safe
    requests.push_back({s.bytes, s.firstStep, s.lastStep});
  }
  MemoryPlan plan = planMemory(requests, format::kSectionAlignment);
  for (size_t i = 0; i < draft_.storages.size(); ++i)
    draft_.storages[i].offset = plan.offsets[i];
  for (ProgramTensor &t : draft_.tensors)
    if (t.kind == TensorKind::Activation)
      t.offset = draft_.storages[size_t(t.storage)].offset;
  draft_.arenaBytes = plan.arenaBytes;
  draft_.unplannedBytes = plan.unplannedBytes;

  // Scratch, with the runtime's own sizing function on the descriptors.
  std::vector<format::TensorDesc> descs = tensorDescs(draft_);
  draft_.scratchBytes = 0;
  for (size_t i = 0; i < draft_.ops.size(); ++i) {
    const ProgramOp &op = draft_.ops[i];
    format::OpDesc desc = zeroed<format::OpDesc>();
    desc.opcode = op.opcode;
    desc.kernel = op.kernel;
    desc.numInputs = uint16_t(op.inputs.size());
    desc.numOutputs = uint16_t(op.outputs.size());
    desc.paramsSize = uint32_t(op.params.size());
    runtime::OpView view;
    view.desc = &desc;
    view.tensors = descs.data();
    view.inputs = op.inputs.data();
    view.outputs = op.outputs.data();
    view.params = op.params.empty() ? nullptr : op.params.data();
    view.name = op.name.c_str();
    uint64_t bytes =
        runtime::opScratchBytes(view, std::max(1u, options_.scratchThreads));
    report_.ops[i].scratchBytes = bytes;
    draft_.scratchBytes = std::max(draft_.scratchBytes, bytes);
  }
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

llvm::Expected<std::vector<uint8_t>> Lowerer::run() {
  if (module_.opsetVersion("") != 0 && module_.opsetVersion("") < 13)
    return makeError("the model is at opset " +
                     std::to_string(module_.opsetVersion("")) +
                     "; lowering needs opset 13 or newer (import converts "
                     "older ONNX models)");
  auto order = topologicalOrder(graph_);
  if (!order)
    return order.takeError();
  draft_.name =
      options_.programName.empty() ? graph_.name : options_.programName;
  report_ = LoweringReport();
  report_.programName = draft_.name;

  if (llvm::Error err = defineGraphInputs())
    return err;

  for (const Node *node : *order) {
    if (consumed_.count(node))
      continue;
    const Rule *rule = nullptr;
    // Not a ?: of "" and std::string: that makes a temporary string the
    // StringRef would outlive.
    llvm::StringRef domain = node->domain;
    if (domain == "ai.onnx")
      domain = "";
    for (const Rule &r : rules())
      if (domain == r.domain && node->opType == r.opType)
        rule = &r;
    const OpInfo *info = lookupOp(*node);
    if (!rule && info &&
        (info->has(OpReadsShapeOnly) || info->has(OpShapeComputation) ||
         info->has(OpConstantSource)))
      return rejectUnfolded(*node, format::Opcode::Identity);
    if (!rule) {
      std::string qualified =
          domain.empty() ? node->opType : (domain + "::" + node->opType).str();
      return makeNodeError(
          node->displayName(),
          "op '" + qualified +
              "' is not supported by the runtime; docs/Lowering.md lists "
              "the supported ops (rewrite the model without it, or add a "
              "kernel as docs/Runtime.md describes)");
    }
    if (llvm::Error err = (this->*rule->handler)(*node, rule->opcode))
      return err;
  }
  if (llvm::Error err = defineGraphOutputs())
    return err;

  padPlanesForSparseReaders();
  planMemoryAndScratch();
  std::vector<uint8_t> blob = serializeProgram(draft_);

  report_.arenaBytes = draft_.arenaBytes;
  report_.unplannedActivationBytes = draft_.unplannedBytes;
  report_.scratchBytes = draft_.scratchBytes;
  report_.blobBytes = blob.size();
  report_.numTensors = unsigned(draft_.tensors.size());
  for (const ProgramTensor &t : draft_.tensors) {
    if (t.kind == TensorKind::Weight)
      report_.weightBytes += t.bytes;
    else
      ++report_.numActivations;
  }
  report_.numAliases =
      report_.numActivations - unsigned(draft_.storages.size());
  return blob;
}

} // namespace lower

//===----------------------------------------------------------------------===//
// Public entry points
//===----------------------------------------------------------------------===//

llvm::Expected<std::vector<uint8_t>> lowerModule(const Module &module,
                                                 const LowerOptions &options,
                                                 LoweringReport *report) {
  LoweringReport local;
  lower::Lowerer lowerer(module, options, report ? *report : local);
  return lowerer.run();
}

std::string LoweringReport::kernelSummary() const {
  // opcode -> kernel -> count, in a stable order.
  std::map<std::string, std::map<std::string, unsigned>> counts;
  for (const LoweredOp &op : ops)
    ++counts[op.opcode][op.kernel];
  std::string out;
  for (const auto &byOp : counts) {
    if (!out.empty())
      out += "; ";
    out += byOp.first + ":";
    bool first = true;
    for (const auto &byKernel : byOp.second) {
      out += (first ? " " : ", ") + byKernel.first + " x" +
             std::to_string(byKernel.second);
      first = false;
    }
  }
  return out;
}

void LoweringReport::print(llvm::raw_ostream &os, bool perOp) const {
  auto mib = [](uint64_t bytes) { return double(bytes) / (1024.0 * 1024.0); };
  os << "program '" << programName << "': " << ops.size() << " ops, "
     << numTensors << " tensors (" << numActivations << " activations, "
     << numAliases << " aliased)\n";
  os << llvm::format("  arena %.3f MiB (%llu B) vs unplanned %.3f MiB (%llu "
                     "B): %.1f%%\n",
                     mib(arenaBytes), (unsigned long long)arenaBytes,
                     mib(unplannedActivationBytes),
                     (unsigned long long)unplannedActivationBytes,
                     unplannedActivationBytes
                         ? 100.0 * double(arenaBytes) /
                               double(unplannedActivationBytes)
                         : 100.0);
  os << llvm::format("  scratch %.3f MiB, weights %.3f MiB, blob %.3f MiB\n",
                     mib(scratchBytes), mib(weightBytes), mib(blobBytes));
  os << "  kernels: " << kernelSummary() << "\n";
  if (!perOp)
    return;
  for (const LoweredOp &op : ops) {
    os << "  " << op.node << " [" << op.sourceOps << "] -> " << op.opcode << " "
       << op.kernel;
    if (!op.encoding.empty())
      os << " (" << op.encoding << ")";
    if (op.weightDensity >= 0)
      os << llvm::format(" density %.3f", op.weightDensity);
    if (op.scratchBytes)
      os << " scratch " << op.scratchBytes;
    os << ": " << op.reason << "\n";
  }
  for (const ElidedNode &elided : elidedNodes)
    os << "  " << elided.node << ": no op, " << elided.reason << "\n";
}

} // namespace sparseloom
