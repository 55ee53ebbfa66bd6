//===- DumpJson.cpp - sparseloom-dump --json ------------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The same facts as the text dump, as one JSON object for scripts. Keys keep
// insertion order (ordered_json) so the output is stable. JSON has no NaN or
// infinity: a measured accuracy that was not measured, a latency on a
// processor the variant cannot run on, and a deadline of "none" are null.
//
//===----------------------------------------------------------------------===//

#include "DumpInternal.h"

#include "nlohmann/json.hpp"

#include <cmath>

using namespace sparseloom;
using runtime::Bundle;
using Json = nlohmann::ordered_json;

namespace {

Json number(double value) {
  return std::isfinite(value) ? Json(value) : Json(nullptr);
}

Json dims(uint32_t rank, const int64_t *d) {
  Json out = Json::array();
  for (uint32_t i = 0; i < rank && i < SL_MAX_RANK; ++i)
    out.push_back(d[i]);
  return out;
}

Json tensorJson(const sl_tensor_info &info) {
  return {{"name", info.name},
          {"dtype", sl_dtype_name(info.dtype)},
          {"dims", dims(info.rank, info.dims)}};
}

Json overview(const Bundle &bundle) {
  sl_bundle_info info = bundle.info();
  return {{"version", std::to_string(info.version_major) + "." +
                          std::to_string(info.version_minor)},
          {"bytes", info.total_bytes},
          {"sections", info.section_count},
          {"tensors", info.tensor_count},
          {"tensor_bytes", info.tensor_bytes},
          {"programs", info.program_count},
          {"program_bytes", info.program_bytes},
          {"tasks", info.task_count},
          {"variants", info.variant_count},
          {"processors", info.processor_count}};
}

Json processors(const Bundle &bundle) {
  Json out = Json::array();
  for (size_t p = 0; p < bundle.processorCount(); ++p) {
    sl_processor_info info = bundle.processorInfo(p);
    out.push_back({{"id", info.id},
                   {"kind", info.kind_name},
                   {"threads", info.threads},
                   {"dense_gflops", info.dense_gflops},
                   {"memory_gbps", info.memory_gbps},
                   {"invocation_overhead_ms", info.invocation_overhead_ms},
                   {"memory_capacity_bytes", info.memory_capacity_bytes}});
  }
  return out;
}

Json programs(const Bundle &bundle) {
  Json out = Json::array();
  for (size_t p = 0; p < bundle.programCount(); ++p) {
    sl_bundle_program_info info = bundle.programInfo(p);
    Json tensors = Json::array();
    for (size_t k = 0; k < info.tensor_count; ++k) {
      size_t t = 0;
      sl_bundle_program_tensor(bundle.get(), p, k, &t);
      tensors.push_back(t);
    }
    out.push_back({{"name", sl_program_name(info.program)},
                   {"offset", info.offset},
                   {"bytes", info.bytes},
                   {"ops", sl_program_op_count(info.program)},
                   {"weight_bytes", info.weight_bytes},
                   {"tensors", tensors}});
  }
  return out;
}

Json variantsOf(const Bundle &bundle, size_t t) {
  Json out = Json::array();
  for (size_t v = 0; v < bundle.variantCount(t); ++v) {
    sl_variant_info info = bundle.variantInfo(t, v);
    Json latency = Json::object();
    for (size_t p = 0; p < bundle.processorCount(); ++p)
      latency[bundle.processorInfo(p).id] = number(bundle.latencyMs(t, v, p));
    Json segments = Json::array();
    for (size_t s = 0; s < info.segment_count; ++s) {
      size_t program = 0, source = 0;
      sl_bundle_variant_segment(bundle.get(), t, v, s, &program, &source);
      segments.push_back({{"program", program}, {"source_variant", source}});
    }
    out.push_back({{"id", info.id},
                   {"name", info.name},
                   {"estimated_accuracy", number(info.estimated_accuracy)},
                   {"measured_accuracy", number(info.measured_accuracy)},
                   {"memory_bytes", info.memory_bytes},
                   {"latency_ms", latency},
                   {"segments", segments}});
  }
  return out;
}

Json tasks(const Bundle &bundle, bool withVariants) {
  Json out = Json::array();
  for (size_t t = 0; t < bundle.taskCount(); ++t) {
    sl_task_info info = bundle.taskInfo(t);
    Json inputs = Json::array(), outputs = Json::array(),
         sources = Json::array();
    for (size_t i = 0; i < info.input_count; ++i) {
      sl_tensor_info in{};
      sl_bundle_task_input(bundle.get(), t, i, &in);
      inputs.push_back(tensorJson(in));
    }
    for (size_t i = 0; i < info.output_count; ++i) {
      sl_tensor_info o{};
      sl_bundle_task_output(bundle.get(), t, i, &o);
      outputs.push_back(tensorJson(o));
    }
    for (size_t s = 0; s < info.source_variant_count; ++s) {
      const char *name = "";
      sl_bundle_task_source_variant(bundle.get(), t, s, &name);
      sources.push_back(name);
    }
    Json task = {{"name", info.name},
                 {"classes", info.class_count},
                 {"latency_deadline_ms", number(info.latency_deadline_ms)},
                 {"accuracy_floor", info.accuracy_floor},
                 {"request_rate_hz", info.request_rate_hz},
                 {"inputs", inputs},
                 {"outputs", outputs},
                 {"source_variants", sources}};
    if (withVariants)
      task["variants"] = variantsOf(bundle, t);
    out.push_back(task);
  }
  return out;
}

Json sections(const Bundle &bundle) {
  Json out = Json::array();
  for (size_t i = 0; i < bundle.info().section_count; ++i) {
    sl_bundle_section_info s{};
    sl_bundle_section_info_at(bundle.get(), i, &s);
    out.push_back({{"kind", s.kind_name},
                   {"offset", s.offset},
                   {"bytes", s.bytes},
                   {"entries", s.count},
                   {"crc32", s.crc32}});
  }
  return out;
}

Json tensors(const Bundle &bundle) {
  std::vector<uint32_t> users = dump::tensorUsers(bundle);
  Json out = Json::array();
  for (size_t i = 0; i < users.size(); ++i) {
    sl_bundle_tensor_info t{};
    sl_bundle_tensor_info_at(bundle.get(), i, &t);
    char hash[17];
    std::snprintf(hash, sizeof(hash), "%016llx",
                  (unsigned long long)t.content_hash);
    out.push_back({{"offset", t.offset},
                   {"bytes", t.bytes},
                   {"dtype", sl_dtype_name(t.dtype)},
                   {"encoding", t.encoding},
                   {"dims", dims(t.rank, t.dims)},
                   {"content_hash", hash},
                   {"programs", users[i]}});
  }
  return out;
}

} // namespace

void sparseloom::dump::printJson(const Bundle &bundle,
                                 const DumpRequest &request,
                                 llvm::raw_ostream &out) {
  bool all = !(request.sections || request.variants || request.tensors);
  Json root = {{"bundle", overview(bundle)}};
  if (all || request.sections)
    root["sections"] = sections(bundle);
  if (all) {
    root["processors"] = processors(bundle);
    root["programs"] = programs(bundle);
  }
  if (all || request.variants)
    root["tasks"] = tasks(bundle, /*withVariants=*/true);
  if (all || request.tensors)
    root["tensors"] = tensors(bundle);
  out << root.dump(2) << "\n";
}
