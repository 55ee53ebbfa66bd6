//===- BundleSummary.cpp - The JSON summary beside a bundle ---------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Infinite latencies (a processor that cannot run a variant) and unmeasured
// accuracies (NaN) are written as null: JSON has no number for either.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Bundle/BundleSummary.h"

#include <cmath>

namespace sparseloom {

using json = nlohmann::json;

namespace {

json nullable(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json dedupJson(const BundleDedupStats &s) {
  return {{"programs_before", s.programsBefore},
          {"programs_after", s.programsAfter},
          {"program_bytes_before", s.programBytesBefore},
          {"program_bytes_after", s.programBytesAfter},
          {"weight_tensors_before", s.weightTensorsBefore},
          {"weight_tensors_after", s.weightTensorsAfter},
          {"weight_bytes_before", s.weightBytesBefore},
          {"weight_bytes_after", s.weightBytesAfter}};
}

} // namespace

json selectedVariantsJson(const BundleContents &contents, size_t task) {
  json selected = json::array();
  for (const BundleContents::Variant &v : contents.tasks[task].variants) {
    json latency = json::object();
    for (size_t p = 0; p < v.latencyMs.size(); ++p)
      latency[contents.processors[p].id] = nullable(v.latencyMs[p]);
    selected.push_back({{"id", v.id},
                        {"name", v.name},
                        {"estimated_accuracy", v.estimatedAccuracy},
                        {"measured_accuracy", nullable(v.measuredAccuracy)},
                        {"latency_ms", latency},
                        {"memory_bytes", v.memoryBytes}});
  }
  return selected;
}

json sharingJson(const BundleStats &stats) {
  json perTask = json::object();
  for (const auto &[name, s] : stats.tasks)
    perTask[name] = dedupJson(s);
  return {{"total", dedupJson(stats.total)}, {"tasks", std::move(perTask)}};
}

std::string bundleSummaryJson(const BundleContents &contents,
                              const BundleStats &stats, uint64_t bundleBytes) {
  json processors = json::array();
  for (const BundleContents::Processor &p : contents.processors)
    processors.push_back(p.id);
  json tasks = json::array();
  for (size_t t = 0; t < contents.tasks.size(); ++t) {
    const BundleContents::Task &task = contents.tasks[t];
    tasks.push_back({{"name", task.name},
                     {"slo",
                      {{"latency_ms", nullable(task.latencyDeadlineMs)},
                       {"accuracy", task.accuracyFloor}}},
                     {"selected", selectedVariantsJson(contents, t)}});
  }
  json doc = {{"processors", std::move(processors)},
              {"tasks", std::move(tasks)},
              {"bundle_bytes", bundleBytes},
              {"sharing", sharingJson(stats)}};
  return doc.dump(2) + "\n";
}

} // namespace sparseloom
