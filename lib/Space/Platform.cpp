//===- Platform.cpp - Platform files
//---------------------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Reads the platform JSON strictly (docs/Platforms.md): every field is
// checked for type and range, unknown fields are errors, and every message
// names the file and the field's JSON path.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/Platform.h"

#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Support/FileIO.h"
#include "sparseloom/Support/JsonFields.h"

#include <cmath>
#include <limits>

namespace sparseloom {

namespace {

constexpr double kUnbounded = std::numeric_limits<double>::infinity();

/// The sparsity patterns sparsity-analysis reports, by their family name.
const std::set<std::string> &knownSparsityPatterns() {
  static const std::set<std::string> patterns = {"unstructured", "block",
                                                 "channel", "nm"};
  return patterns;
}

llvm::Expected<ProcessorKind> parseKind(const std::string &text) {
  if (text == "cpu")
    return ProcessorKind::Cpu;
  if (text == "gpu")
    return ProcessorKind::Gpu;
  if (text == "npu")
    return ProcessorKind::Npu;
  if (text == "dsp")
    return ProcessorKind::Dsp;
  return makeError("expected one of cpu, gpu, npu, dsp, got \"" + text + "\"");
}

llvm::Expected<Processor> parseProcessor(const nlohmann::json &value,
                                         const std::string &path) {
  JsonObjectReader reader(value, path);
  if (llvm::Error err = reader.checkIsObject())
    return err;
  Processor processor;
  auto id = reader.requiredString("id");
  if (!id)
    return id.takeError();
  processor.id = *id;
  auto kindText = reader.requiredString("kind");
  if (!kindText)
    return kindText.takeError();
  auto kind = parseKind(*kindText);
  if (!kind)
    return reader.fieldError("kind", llvm::toString(kind.takeError()));
  processor.kind = *kind;
  auto threads = reader.optionalInteger("threads", 1, 1, 256);
  if (!threads)
    return threads.takeError();
  processor.threads = unsigned(*threads);
  auto gflops = reader.requiredNumber("dense_gflops", 1e-3, kUnbounded);
  if (!gflops)
    return gflops.takeError();
  processor.denseGflops = *gflops;
  auto other = reader.optionalNumber("other_op_efficiency", 0.1, 1e-4, 1);
  if (!other)
    return other.takeError();
  processor.otherOpEfficiency = *other;
  auto bandwidth =
      reader.requiredNumber("memory_bandwidth_gbs", 1e-3, kUnbounded);
  if (!bandwidth)
    return bandwidth.takeError();
  processor.memoryBandwidthGBs = *bandwidth;
  auto overhead =
      reader.optionalNumber("invocation_overhead_us", 0, 0, kUnbounded);
  if (!overhead)
    return overhead.takeError();
  processor.invocationOverheadUs = *overhead;
  auto capacity = reader.requiredNumber("memory_mib", 1e-3, kUnbounded);
  if (!capacity)
    return capacity.takeError();
  processor.memoryCapacityMiB = *capacity;

  if (const nlohmann::json *sparse = reader.get("sparse_efficiency")) {
    JsonObjectReader sparseReader(*sparse,
                                  reader.fieldPath("sparse_efficiency"));
    if (llvm::Error err = sparseReader.checkIsObject())
      return err;
    for (const auto &item : sparse->items()) {
      if (!knownSparsityPatterns().count(item.key()))
        return sparseReader.fieldError(
            item.key(), "unknown sparsity pattern (expected unstructured, "
                        "block, channel or nm)");
      auto efficiency = sparseReader.optionalNumber(item.key(), 0, 1e-4, 1);
      if (!efficiency)
        return efficiency.takeError();
      processor.sparseEfficiency[item.key()] = *efficiency;
    }
  }
  if (const nlohmann::json *ops = reader.get("unsupported_ops")) {
    if (!ops->is_array())
      return reader.fieldError("unsupported_ops",
                               "expected an array of ONNX op types");
    for (const nlohmann::json &op : *ops) {
      if (!op.is_string() || op.get<std::string>().empty())
        return reader.fieldError("unsupported_ops",
                                 "expected op type strings, got " + op.dump());
      processor.unsupportedOps.insert(op.get<std::string>());
    }
  }
  if (llvm::Error err = reader.finish())
    return err;
  return processor;
}

llvm::Error parseLinks(const nlohmann::json &value, const std::string &path,
                       Platform &platform) {
  if (!value.is_array())
    return makeError(path + ": expected an array of links");
  for (size_t i = 0; i < value.size(); ++i) {
    std::string linkPath = path + "[" + std::to_string(i) + "]";
    JsonObjectReader reader(value[i], linkPath);
    if (llvm::Error err = reader.checkIsObject())
      return err;
    auto from = reader.requiredString("from");
    if (!from)
      return from.takeError();
    auto to = reader.requiredString("to");
    if (!to)
      return to.takeError();
    auto fromIndex = platform.processorIndex(*from);
    if (!fromIndex)
      return reader.fieldError("from", "no processor has id \"" + *from + "\"");
    auto toIndex = platform.processorIndex(*to);
    if (!toIndex)
      return reader.fieldError("to", "no processor has id \"" + *to + "\"");
    if (*fromIndex == *toIndex)
      return reader.fieldError("to", "a link joins two different processors");
    ProcessorLink link;
    auto bandwidth = reader.requiredNumber("bandwidth_gbs", 1e-6, kUnbounded);
    if (!bandwidth)
      return bandwidth.takeError();
    link.bandwidthGBs = *bandwidth;
    auto latency = reader.optionalNumber("latency_us", 0, 0, kUnbounded);
    if (!latency)
      return latency.takeError();
    link.latencyUs = *latency;
    auto bidirectional = reader.optionalBool("bidirectional", true);
    if (!bidirectional)
      return bidirectional.takeError();
    if (llvm::Error err = reader.finish())
      return err;
    platform.links[{*fromIndex, *toIndex}] = link;
    if (*bidirectional)
      platform.links[{*toIndex, *fromIndex}] = link;
  }
  return llvm::Error::success();
}

} // namespace

const char *processorKindName(ProcessorKind kind) {
  switch (kind) {
  case ProcessorKind::Cpu:
    return "cpu";
  case ProcessorKind::Gpu:
    return "gpu";
  case ProcessorKind::Npu:
    return "npu";
  case ProcessorKind::Dsp:
    return "dsp";
  }
  return "cpu";
}

std::optional<unsigned> Platform::processorIndex(const std::string &id) const {
  for (unsigned i = 0; i < processors.size(); ++i)
    if (processors[i].id == id)
      return i;
  return std::nullopt;
}

double Platform::transferMs(unsigned from, unsigned to, double bytes) const {
  if (from == to)
    return 0;
  auto it = links.find({from, to});
  if (it == links.end())
    return kUnbounded;
  return it->second.latencyUs / 1e3 +
         bytes / (it->second.bandwidthGBs * 1e9) * 1e3;
}

llvm::Expected<Platform> parsePlatformJson(const std::string &text,
                                           const std::string &fileName) {
  auto json = parseJsonText(text, fileName);
  if (!json)
    return json.takeError();
  auto parse = [&]() -> llvm::Expected<Platform> {
    JsonObjectReader reader(*json, "");
    if (llvm::Error err = reader.checkIsObject())
      return err;
    Platform platform;
    auto name = reader.requiredString("name");
    if (!name)
      return name.takeError();
    platform.name = *name;
    auto description = reader.optionalString("description", "");
    if (!description)
      return description.takeError();
    platform.description = *description;
    auto split = reader.optionalBool("allow_split_placement", false);
    if (!split)
      return split.takeError();
    platform.allowSplitPlacement = *split;
    const nlohmann::json *processors = reader.get("processors");
    if (!processors || !processors->is_array() || processors->empty())
      return reader.fieldError("processors",
                               "expected a non-empty array of processors");
    for (size_t i = 0; i < processors->size(); ++i) {
      auto processor = parseProcessor((*processors)[i],
                                      "processors[" + std::to_string(i) + "]");
      if (!processor)
        return processor.takeError();
      if (platform.processorIndex(processor->id))
        return makeError("processors[" + std::to_string(i) +
                         "].id: duplicate processor id \"" + processor->id +
                         "\"");
      platform.processors.push_back(std::move(*processor));
    }
    if (const nlohmann::json *links = reader.get("links"))
      if (llvm::Error err = parseLinks(*links, "links", platform))
        return err;
    if (llvm::Error err = reader.finish())
      return err;
    return platform;
  };
  auto platform = parse();
  if (!platform)
    return withFile(platform.takeError(), fileName);
  return platform;
}

llvm::Expected<Platform> loadPlatformFile(const std::string &path) {
  auto text = readFile(path);
  if (!text)
    return text.takeError();
  return parsePlatformJson(*text, path);
}

} // namespace sparseloom
