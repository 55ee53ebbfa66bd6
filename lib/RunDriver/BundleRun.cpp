//===- BundleRun.cpp - sparseloom-run on a bundle -------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Runs requests against a bundle the way an application does: map the
// .loom, open it with the runtime (which verifies all of it), pick a
// stitched variant for the task (by id or name, or by SLO with the
// runtime's scheduler rule), create its session and run one request per
// input row (a bundle's programs take one sample). --eval runs a whole
// labelled split and reports top-1 accuracy, which must equal what the
// compiler measured when given the same split.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/RunDriver/RunDriver.h"
#include "sparseloom/Runtime/MappedFile.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

using namespace sparseloom;
using namespace sparseloom::run;

namespace {

llvm::Error fileError(const std::string &file, const std::string &message) {
  return llvm::make_error<DiagnosticError>(file, "", message);
}

llvm::Expected<size_t> findTask(const runtime::Bundle &bundle,
                                const BundleRunRequest &request) {
  std::string names;
  for (size_t t = 0; t < bundle.taskCount(); ++t) {
    std::string name = bundle.taskInfo(t).name;
    if (name == request.task ||
        (request.task.empty() && bundle.taskCount() == 1))
      return t;
    names += (names.empty() ? "" : ", ") + name;
  }
  return fileError(request.bundle,
                   request.task.empty()
                       ? "the bundle has several tasks: choose one with "
                         "--task (" +
                             names + ")"
                       : "no task '" + request.task + "' (tasks: " + names +
                             ")");
}

llvm::Expected<size_t> findVariant(const runtime::Bundle &bundle, size_t task,
                                   const BundleRunRequest &request) {
  std::string names;
  for (size_t v = 0; v < bundle.variantCount(task); ++v) {
    sl_variant_info info = bundle.variantInfo(task, v);
    if (request.variant == info.name ||
        request.variant == std::to_string(info.id))
      return v;
    names +=
        (names.empty() ? "" : ", ") + std::to_string(info.id) + " " + info.name;
  }
  return fileError(request.bundle, "task '" + request.task +
                                       "' has no variant '" + request.variant +
                                       "' (variants: " + names + ")");
}

std::string percent(double fraction) {
  if (std::isnan(fraction))
    return "not measured";
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f %%", 100 * fraction);
  return text;
}

/// Row `r` of `array` as its own array with a leading 1.
NpyArray rowOf(const NpyArray &array, size_t r) {
  NpyArray row;
  row.dtype = array.dtype;
  row.shape = array.shape;
  row.shape[0] = 1;
  size_t bytes = array.data.size() / size_t(array.shape[0]);
  row.data.assign(array.data.begin() + r * bytes,
                  array.data.begin() + (r + 1) * bytes);
  return row;
}

/// Argmax of a float output row.
int64_t argmaxOf(const sl_tensor_view &view) {
  const float *v = static_cast<const float *>(view.data);
  size_t n = view.bytes / sizeof(float);
  return std::max_element(v, v + n) - v;
}

int64_t labelAt(const NpyArray &labels, size_t i) {
  if (labels.dtype == SL_DTYPE_INT64) {
    int64_t v;
    std::memcpy(&v, labels.data.data() + i * 8, 8);
    return v;
  }
  int32_t v;
  std::memcpy(&v, labels.data.data() + i * 4, 4);
  return v;
}

llvm::Expected<NpyArray> readArray(const std::string &path) {
  NpyArray array;
  std::string error;
  if (!runtime::readNpy(path, array, error)) {
    llvm::StringRef message(error);
    message.consume_front(path + ": ");
    return fileError(path, message.str());
  }
  if (array.shape.empty() || array.shape[0] < 1)
    return fileError(path, "needs at least one sample along its first axis");
  return array;
}

} // namespace

llvm::Error sparseloom::run::runBundle(const BundleRunRequest &request,
                                       llvm::raw_ostream &out) {
  runtime::MappedFile file;
  std::string error;
  if (!runtime::MappedFile::open(request.bundle, file, error))
    return fileError(request.bundle, "cannot open: " + error);
  runtime::Bundle bundle;
  if (runtime::Status st =
          runtime::Bundle::open(file.data(), file.size(), bundle);
      !st)
    return fileError(request.bundle, st.message());
  auto task = findTask(bundle, request);
  if (!task)
    return task.takeError();
  sl_task_info taskInfo = bundle.taskInfo(*task);
  if (taskInfo.input_count != 1)
    return fileError(request.bundle, "task '" + std::string(taskInfo.name) +
                                         "' has " +
                                         std::to_string(taskInfo.input_count) +
                                         " inputs; sparseloom-run feeds one");

  // The variant: named, or picked for the SLO (the task's default SLO where
  // the command line gives none).
  size_t variant = 0, processor = 0;
  std::string why;
  if (!request.variant.empty()) {
    BundleRunRequest named = request;
    named.task = taskInfo.name;
    auto found = findVariant(bundle, *task, named);
    if (!found)
      return found.takeError();
    variant = *found;
    double best = INFINITY;
    for (size_t p = 0; p < bundle.processorCount(); ++p)
      if (bundle.latencyMs(*task, variant, p) < best) {
        best = bundle.latencyMs(*task, variant, p);
        processor = p;
      }
    why = "chosen with --variant";
  } else {
    double deadline =
        request.sloLatencyMs.value_or(taskInfo.latency_deadline_ms);
    double floor = request.sloAccuracy.value_or(taskInfo.accuracy_floor);
    runtime::Bundle::Pick pick;
    if (runtime::Status st = bundle.pickVariant(*task, deadline, floor, pick);
        !st)
      return fileError(request.bundle, st.message());
    variant = pick.variant;
    processor = pick.processor;
    char text[160];
    std::snprintf(text, sizeof(text), "picked for SLO %.4g ms, %.2f %%: %s",
                  deadline, 100 * floor,
                  pick.missed == SL_SLO_MET ? "met"
                  : (pick.missed & SL_SLO_LATENCY_MISSED) &&
                          (pick.missed & SL_SLO_ACCURACY_MISSED)
                      ? "both missed, the most accurate"
                  : pick.missed & SL_SLO_LATENCY_MISSED
                      ? "deadline missed, the fastest meeting the floor"
                      : "floor missed, the most accurate");
    why = text;
  }
  sl_variant_info info = bundle.variantInfo(*task, variant);
  out << "task '" << taskInfo.name << "': variant " << info.id << " '"
      << info.name << "' (" << why << ")\n";
  out << "  estimated accuracy " << percent(info.estimated_accuracy)
      << ", measured at compile time " << percent(info.measured_accuracy)
      << "; "
      << llvm::format("%.4f", bundle.latencyMs(*task, variant, processor))
      << " ms on '" << bundle.processorInfo(processor).id << "' (modeled); "
      << info.memory_bytes << " bytes\n";

  runtime::Session session;
  sl_session_options options{
      request.threads, (request.checkFinite ? SL_SESSION_CHECK_FINITE : 0u) |
                           (request.prefetchOps ? 0u : SL_SESSION_NO_PREFETCH)};
  if (runtime::Status st =
          bundle.createSession(*task, variant, session, options);
      !st)
    return fileError(request.bundle, st.message());
  sl_tensor_info inputInfo = session.inputInfo(0);

  auto runRows = [&](const NpyArray &inputs, const std::string &source,
                     auto &&perRow) -> llvm::Error {
    std::vector<int64_t> expected = infoDims(inputInfo);
    std::vector<int64_t> rowShape = inputs.shape;
    rowShape[0] = 1;
    if (inputs.dtype != inputInfo.dtype || rowShape != expected)
      return fileError(source, "holds " + describeArray(inputs) +
                                   " but task '" + taskInfo.name +
                                   "' takes rows of " +
                                   describeInfo(inputInfo));
    for (size_t r = 0; r < size_t(inputs.shape[0]); ++r) {
      NpyArray row = rowOf(inputs, r);
      sl_tensor_view view = row.view();
      if (runtime::Status st = session.run(&view, 1); !st)
        return fileError(source,
                         "sample " + std::to_string(r) + ": " + st.message());
      perRow(r);
    }
    return llvm::Error::success();
  };

  if (!request.input.empty()) {
    auto inputs = readArray(request.input);
    if (!inputs)
      return inputs.takeError();
    std::vector<std::vector<uint8_t>> rows;
    sl_tensor_view last{};
    size_t shown = 0;
    if (llvm::Error err = runRows(*inputs, request.input, [&](size_t r) {
          session.output(0, last);
          const uint8_t *bytes = static_cast<const uint8_t *>(last.data);
          rows.emplace_back(bytes, bytes + last.bytes);
          if (last.dtype == SL_DTYPE_FLOAT32 && shown++ < 8)
            out << "  request " << r << ": class " << argmaxOf(last) << "\n";
        }))
      return err;
    if (!request.output.empty()) {
      // One row per request: [1, ...] outputs stack to [rows, ...].
      NpyArray all = NpyArray::fromView(last);
      if (all.shape.empty() || all.shape[0] != 1)
        all.shape.insert(all.shape.begin(), 1);
      all.shape[0] = int64_t(rows.size());
      all.data.clear();
      for (const auto &row : rows)
        all.data.insert(all.data.end(), row.begin(), row.end());
      if (!runtime::writeNpy(request.output, all, error))
        return fileError(request.output, error);
    }
    out << "  " << rows.size() << " request(s) run\n";
  }

  if (!request.evalInputs.empty()) {
    auto inputs = readArray(request.evalInputs);
    if (!inputs)
      return inputs.takeError();
    auto labels = readArray(request.evalLabels);
    if (!labels)
      return labels.takeError();
    if (labels->shape[0] != inputs->shape[0] ||
        (labels->dtype != SL_DTYPE_INT64 && labels->dtype != SL_DTYPE_INT32))
      return fileError(request.evalLabels,
                       "needs one integer label per sample of " +
                           request.evalInputs);
    size_t correct = 0;
    sl_tensor_view logits{};
    if (llvm::Error err = runRows(*inputs, request.evalInputs, [&](size_t r) {
          session.output(0, logits);
          correct += argmaxOf(logits) == labelAt(*labels, r);
        }))
      return err;
    double accuracy = double(correct) / double(inputs->shape[0]);
    out << "  eval: top-1 accuracy " << percent(accuracy) << " (" << correct
        << "/" << inputs->shape[0] << ") on " << request.evalInputs << "\n";
  }

  if (request.benchRuns > 0) {
    if (request.input.empty())
      return makeError("--bench times requests: give --input");
    auto inputs = readArray(request.input);
    if (!inputs)
      return inputs.takeError();
    NpyArray row = rowOf(*inputs, 0);
    sl_tensor_view view = row.view();
    std::vector<double> ms;
    for (unsigned i = 0; i < request.warmupRuns + request.benchRuns; ++i) {
      auto start = std::chrono::steady_clock::now();
      if (runtime::Status st = session.run(&view, 1); !st)
        return fileError(request.input, st.message());
      if (i >= request.warmupRuns)
        ms.push_back(std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - start)
                         .count());
    }
    std::sort(ms.begin(), ms.end());
    out << llvm::format("  bench: %u requests, median %.4f ms, min %.4f ms, "
                        "max %.4f ms\n",
                        request.benchRuns, ms[ms.size() / 2], ms.front(),
                        ms.back());
  }
  return llvm::Error::success();
}
