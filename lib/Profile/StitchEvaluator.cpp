//===- StitchEvaluator.cpp - Measuring stitched variants ------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Profile/StitchEvaluator.h"

#include "sparseloom/Lower/Pipeline.h"
#include "sparseloom/Runtime/Runtime.hpp"
#include "sparseloom/Support/Diagnostics.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace sparseloom {

using runtime::NpyArray;

namespace {

bool isIntegerDType(sl_dtype dtype) {
  return dtype == SL_DTYPE_INT64 || dtype == SL_DTYPE_INT32 ||
         dtype == SL_DTYPE_UINT8 || dtype == SL_DTYPE_INT8;
}

int64_t integerAt(const NpyArray &array, size_t i) {
  const uint8_t *p = array.data.data();
  switch (array.dtype) {
  case SL_DTYPE_INT64:
    return reinterpret_cast<const int64_t *>(p)[i];
  case SL_DTYPE_INT32:
    return reinterpret_cast<const int32_t *>(p)[i];
  case SL_DTYPE_UINT8:
    return p[i];
  case SL_DTYPE_INT8:
    return reinterpret_cast<const int8_t *>(p)[i];
  default:
    return -1;
  }
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

/// Row-wise argmax over the last dimension of a float tensor.
std::vector<int64_t> argmaxRows(const sl_tensor_view &view) {
  size_t classes = view.rank ? size_t(view.dims[view.rank - 1]) : 1;
  size_t rows = view.bytes / sizeof(float) / std::max<size_t>(classes, 1);
  const float *data = static_cast<const float *>(view.data);
  std::vector<int64_t> result(rows);
  for (size_t r = 0; r < rows; ++r) {
    const float *row = data + r * classes;
    result[r] = std::max_element(row, row + classes) - row;
  }
  return result;
}

} // namespace

llvm::Expected<EvaluationData>
loadEvaluationData(const std::string &inputsFile,
                   const std::string &labelsFile) {
  EvaluationData data;
  data.inputsFile = inputsFile;
  data.labelsFile = labelsFile;
  std::string error;
  if (!runtime::readNpy(inputsFile, data.inputs, error))
    return makeError(error);
  if (data.inputs.shape.empty() || data.inputs.shape[0] == 0)
    return withFile(makeError("calibration inputs need a leading batch "
                              "dimension with at least one sample"),
                    inputsFile);
  if (!labelsFile.empty()) {
    NpyArray labels;
    if (!runtime::readNpy(labelsFile, labels, error))
      return makeError(error);
    if (!isIntegerDType(labels.dtype) || labels.shape.size() != 1)
      return withFile(makeError("labels must be a 1-D integer array (one "
                                "class index per sample), got shape " +
                                shapeText(labels.shape)),
                      labelsFile);
    if (labels.shape[0] != data.inputs.shape[0])
      return withFile(makeError("has " + std::to_string(labels.shape[0]) +
                                " labels but " + inputsFile + " has " +
                                std::to_string(data.inputs.shape[0]) +
                                " samples"),
                      labelsFile);
    data.labels = std::move(labels);
  }
  return data;
}

struct StitchEvaluator::Impl {
  unsigned numSegments = 0, numMembers = 0;
  size_t rows = 0;
  int64_t classes = 0;
  EvaluationData data;
  // programs[s][m], sessions[s][m].
  std::vector<std::vector<runtime::Program>> programs;
  std::vector<std::vector<runtime::Session>> sessions;
  /// For segment s > 0: which output of segment s-1 feeds each input.
  std::vector<std::vector<size_t>> feedFrom;
  /// The segment and output index holding the model's first output.
  unsigned logitsSegment = 0;
  size_t logitsOutput = 0;
  std::vector<int64_t> reference; // labels, or the reference's predictions
  size_t runs = 0;

  llvm::Error runSegment(unsigned s, unsigned m, unsigned previousMember);
  llvm::Expected<double> accuracyOf(unsigned member);
};

StitchEvaluator::StitchEvaluator(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
StitchEvaluator::~StitchEvaluator() = default;

bool StitchEvaluator::hasLabels() const {
  return impl_->data.labels.has_value();
}
size_t StitchEvaluator::samples() const { return impl_->rows; }
size_t StitchEvaluator::classes() const { return size_t(impl_->classes); }
size_t StitchEvaluator::segmentRuns() const { return impl_->runs; }

llvm::Error StitchEvaluator::Impl::runSegment(unsigned s, unsigned m,
                                              unsigned previousMember) {
  runtime::Session &session = sessions[s][m];
  std::vector<sl_tensor_view> inputs;
  if (s == 0) {
    inputs.push_back(data.inputs.view());
  } else {
    runtime::Session &previous = sessions[s - 1][previousMember];
    for (size_t from : feedFrom[s]) {
      sl_tensor_view view{};
      if (auto st = previous.output(from, view); !st)
        return makeError("reading a boundary tensor: " + st.message());
      inputs.push_back(view);
    }
  }
  if (auto st = session.run(inputs); !st)
    return makeError("running segment " + std::to_string(s) + " of variant " +
                     std::to_string(m) + ": " + st.message());
  ++runs;
  return llvm::Error::success();
}

llvm::Expected<double> StitchEvaluator::Impl::accuracyOf(unsigned member) {
  sl_tensor_view logits{};
  if (auto st = sessions[logitsSegment][member].output(logitsOutput, logits);
      !st)
    return makeError("reading the model output: " + st.message());
  std::vector<int64_t> predicted = argmaxRows(logits);
  size_t correct = 0;
  for (size_t i = 0; i < predicted.size(); ++i)
    correct += predicted[i] == reference[i];
  return double(correct) / double(predicted.size());
}

llvm::Expected<std::unique_ptr<StitchEvaluator>>
StitchEvaluator::create(const Family &family, EvaluationData data,
                        const EvaluatorOptions &options) {
  if (!family.state.segments)
    return makeError("measuring stitched variants needs the split family "
                     "(run split first)");
  const auto &segments = family.state.segments->perMember;
  auto impl = std::make_unique<Impl>();
  impl->numMembers = unsigned(segments.size());
  impl->numSegments = unsigned(segments.front().size());
  const Module &reference = family.reference();
  if (reference.graph.inputs.size() != 1)
    return withFile(makeError("the model has " +
                              std::to_string(reference.graph.inputs.size()) +
                              " inputs; calibration data provides one (models "
                              "with several inputs are not supported yet)"),
                    family.members.front().file);
  const std::string &inputName = reference.graph.inputs.front();
  const std::string &outputName = reference.graph.outputs.front();
  // The calibration data must fit the model's input: dtype and every dim
  // the model fixes (the batch is the data's).
  TensorType inputType = reference.graph.getType(inputName);
  if (int32_t(inputType.dtype) != int32_t(data.inputs.dtype))
    return withFile(makeError("input '" + inputName + "' is " +
                              dtypeName(inputType.dtype).str() +
                              " but the calibration data has dtype code " +
                              std::to_string(int(data.inputs.dtype))),
                    data.inputsFile);
  if (inputType.dims) {
    bool fits = inputType.dims->size() == data.inputs.shape.size();
    for (size_t i = 1; fits && i < data.inputs.shape.size(); ++i)
      fits = !(*inputType.dims)[i].isKnown() ||
             (*inputType.dims)[i].size() == data.inputs.shape[i];
    if (!fits)
      return withFile(makeError("has shape " + shapeText(data.inputs.shape) +
                                " which does not fit input '" + inputName +
                                "' of " + family.members.front().file),
                      data.inputsFile);
  }

  std::map<std::string, std::vector<int64_t>> previousShapes;
  impl->programs.resize(impl->numSegments);
  impl->sessions.resize(impl->numSegments);
  impl->feedFrom.resize(impl->numSegments);
  bool foundLogits = false;
  for (unsigned s = 0; s < impl->numSegments; ++s) {
    impl->programs[s].resize(impl->numMembers);
    impl->sessions[s].resize(impl->numMembers);
    for (unsigned m = 0; m < impl->numMembers; ++m) {
      std::unique_ptr<Module> module = segments[m][s]->clone();
      CompileOptions compile;
      for (const std::string &input : module->graph.inputs) {
        if (s == 0) {
          compile.inputShapes[input] = data.inputs.shape;
          continue;
        }
        auto it = previousShapes.find(input);
        if (it == previousShapes.end())
          return withFile(makeError("segment " + std::to_string(s) +
                                    " reads '" + input +
                                    "', which the previous segment does not "
                                    "produce"),
                          family.members[m].file);
        compile.inputShapes[input] = it->second;
      }
      auto compiled = compileForRuntime(*module, compile);
      if (!compiled)
        return withFile(compiled.takeError(), family.members[m].file);
      runtime::Program &program = impl->programs[s][m];
      if (auto st = runtime::Program::load(compiled->bytes.data(),
                                           compiled->bytes.size(), program);
          !st)
        return withFile(makeError("the runtime rejects segment " +
                                  std::to_string(s) + ": " + st.message()),
                        family.members[m].file);
      sl_session_options sessionOptions{options.threads, 0};
      if (auto st = runtime::Session::create(program, impl->sessions[s][m],
                                             sessionOptions);
          !st)
        return makeError("creating a session: " + st.message());
      if (m == 0 && s > 0) {
        // Map inputs to the previous segment's outputs by name.
        const runtime::Program &previous = impl->programs[s - 1][0];
        for (size_t i = 0; i < program.inputCount(); ++i) {
          std::string name = program.inputInfo(i).name;
          size_t from = SIZE_MAX;
          for (size_t o = 0; o < previous.outputCount(); ++o)
            if (name == previous.outputInfo(o).name)
              from = o;
          if (from == SIZE_MAX)
            return makeError("segment " + std::to_string(s) + " input '" +
                             name + "' is not an output of segment " +
                             std::to_string(s - 1));
          impl->feedFrom[s].push_back(from);
        }
      }
    }
    const runtime::Program &program = impl->programs[s][0];
    previousShapes.clear();
    for (size_t o = 0; o < program.outputCount(); ++o) {
      sl_tensor_info info = program.outputInfo(o);
      previousShapes[info.name] =
          std::vector<int64_t>(info.dims, info.dims + info.rank);
      if (!foundLogits && outputName == info.name) {
        foundLogits = true;
        impl->logitsSegment = s;
        impl->logitsOutput = o;
        impl->classes = info.rank ? info.dims[info.rank - 1] : 1;
        impl->rows = info.bytes / sizeof(float) /
                     size_t(std::max<int64_t>(impl->classes, 1));
        if (info.dtype != SL_DTYPE_FLOAT32)
          return withFile(makeError("output '" + outputName +
                                    "' must be float scores to measure "
                                    "accuracy"),
                          family.members.front().file);
      }
    }
  }
  if (!foundLogits)
    return makeError("no segment produces the model output '" + outputName +
                     "'");
  impl->data = std::move(data);
  if (impl->data.labels) {
    const NpyArray &labels = *impl->data.labels;
    if (size_t(labels.shape[0]) != impl->rows)
      return withFile(makeError("has " + std::to_string(labels.shape[0]) +
                                " labels but the model produces " +
                                std::to_string(impl->rows) + " predictions"),
                      impl->data.labelsFile);
    for (size_t i = 0; i < impl->rows; ++i) {
      int64_t label = integerAt(labels, i);
      if (label < 0 || label >= impl->classes)
        return withFile(makeError("label " + std::to_string(label) +
                                  " of sample " + std::to_string(i) +
                                  " is outside the model's " +
                                  std::to_string(impl->classes) + " classes"),
                        impl->data.labelsFile);
      impl->reference.push_back(label);
    }
  } else {
    // Agreement with the reference variant: its own predictions.
    for (unsigned s = 0; s <= impl->logitsSegment; ++s)
      if (llvm::Error err = impl->runSegment(s, 0, 0))
        return std::move(err);
    sl_tensor_view logits{};
    if (auto st = impl->sessions[impl->logitsSegment][0].output(
            impl->logitsOutput, logits);
        !st)
      return makeError(st.message());
    impl->reference = argmaxRows(logits);
  }
  return std::unique_ptr<StitchEvaluator>(new StitchEvaluator(std::move(impl)));
}

llvm::Expected<std::vector<AccuracyMeasurement>>
StitchEvaluator::measure(const std::vector<StitchChoice> &choices,
                         const std::function<void(size_t done)> &progress) {
  Impl &impl = *impl_;
  for (const StitchChoice &choice : choices) {
    if (choice.size() != impl.numSegments)
      return makeError("a stitch names " + std::to_string(choice.size()) +
                       " segments, the family has " +
                       std::to_string(impl.numSegments));
    for (uint8_t m : choice)
      if (m >= impl.numMembers)
        return makeError("a stitch names variant " + std::to_string(m) +
                         " of only " + std::to_string(impl.numMembers));
  }
  // Lexicographic order maximises shared prefixes between neighbours.
  std::vector<size_t> order(choices.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return choices[a] < choices[b]; });
  std::vector<AccuracyMeasurement> results(choices.size());
  const StitchChoice *previous = nullptr;
  size_t done = 0;
  // Only segments up to the one producing the logits matter.
  const unsigned last = impl.logitsSegment;
  for (size_t index : order) {
    const StitchChoice &choice = choices[index];
    unsigned common = 0;
    if (previous)
      while (common <= last && (*previous)[common] == choice[common])
        ++common;
    for (unsigned s = common; s <= last; ++s)
      if (llvm::Error err =
              impl.runSegment(s, choice[s], s ? choice[s - 1] : 0))
        return std::move(err);
    auto accuracy = impl.accuracyOf(choice[last]);
    if (!accuracy)
      return accuracy.takeError();
    results[index] = {choice, *accuracy, int64_t(impl.rows)};
    previous = &choice;
    if (progress)
      progress(++done);
  }
  return results;
}

} // namespace sparseloom
