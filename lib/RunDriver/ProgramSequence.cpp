//===- ProgramSequence.cpp - Loaded programs and their session ------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Loads program blobs into the runtime and runs them through one session.
// The runtime checks everything itself (the loader verifies each blob, the
// session checks that neighbouring programs agree on their boundary
// tensors, a run checks its inputs); this file only turns its status codes
// into DiagnosticErrors that name the file the user can fix: the program's
// source for load errors, the input's .npy file for input errors.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/RunDriver/RunDriver.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <cstring>

using namespace sparseloom;
using namespace sparseloom::run;

namespace {

llvm::Error runtimeError(llvm::StringRef file, const runtime::Status &status,
                         const llvm::Twine &what) {
  return llvm::make_error<DiagnosticError>(file.str(), "",
                                           (what + ": " + status.message() +
                                            " (" +
                                            sl_status_name(status.code()) + ")")
                                               .str());
}

/// Index of the first NaN or infinity among `array`'s floats, or -1.
int64_t firstNonFinite(const NpyArray &array) {
  if (array.dtype != SL_DTYPE_FLOAT32)
    return -1;
  const float *values = array.floats();
  for (size_t i = 0, e = array.numElements(); i < e; ++i)
    if (!std::isfinite(values[i]))
      return int64_t(i);
  return -1;
}

} // namespace

llvm::Expected<std::unique_ptr<ProgramSequence>>
ProgramSequence::load(const std::vector<const CompiledModel *> &programs,
                      const SequenceOptions &options) {
  std::vector<const std::vector<uint8_t> *> blobs;
  std::vector<std::string> sources;
  for (const CompiledModel *program : programs) {
    blobs.push_back(&program->blob);
    sources.push_back(program->source);
  }
  return loadBlobs(blobs, sources, options);
}

llvm::Expected<std::unique_ptr<ProgramSequence>> ProgramSequence::loadBlobs(
    const std::vector<const std::vector<uint8_t> *> &blobs,
    const std::vector<std::string> &sources, const SequenceOptions &options) {
  assert(!blobs.empty() && blobs.size() == sources.size() &&
         "one source name per blob");
  std::unique_ptr<ProgramSequence> sequence(new ProgramSequence());
  sequence->sources_ = sources;
  std::vector<const runtime::Program *> loaded;
  for (size_t i = 0; i < blobs.size(); ++i) {
    auto program = std::make_unique<runtime::Program>();
    runtime::Status status = runtime::Program::load(
        blobs[i]->data(), blobs[i]->size(), *program, options.allocator);
    if (!status)
      return runtimeError(sources[i], status,
                          "the runtime rejected the program");
    loaded.push_back(program.get());
    sequence->programs_.push_back(std::move(program));
  }

  sl_session_options sessionOptions{};
  sessionOptions.threads = options.threads;
  sessionOptions.flags = (options.checkFinite ? SL_SESSION_CHECK_FINITE : 0u) |
                         (options.profileOps ? SL_SESSION_PROFILE_OPS : 0u) |
                         (options.prefetchOps ? 0u : SL_SESSION_NO_PREFETCH);
  runtime::Status status = runtime::Session::create(
      loaded, sequence->session_, sessionOptions, options.allocator);
  if (!status) {
    // A boundary mismatch is about the pair of files, the rest about the
    // first one.
    std::string file = sources.front();
    if (status.code() == SL_ERROR_SHAPE_MISMATCH ||
        status.code() == SL_ERROR_DTYPE_MISMATCH)
      file = llvm::join(sources, ", ");
    return runtimeError(file, status, "cannot create a session");
  }
  sequence->views_.resize(sequence->numInputs());
  return sequence;
}

llvm::Error ProgramSequence::run(const std::vector<const NpyArray *> &inputs,
                                 const std::vector<std::string> &inputSources) {
  auto sourceOf = [&](size_t i) {
    return i < inputSources.size() && !inputSources[i].empty()
               ? inputSources[i]
               : sources_.front();
  };
  if (inputs.size() != views_.size())
    return llvm::make_error<DiagnosticError>(
        sources_.front(), "",
        "the program has " + std::to_string(views_.size()) + " input(s) but " +
            std::to_string(inputs.size()) + " were given");
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i]->shape.size() > SL_MAX_RANK)
      return llvm::make_error<DiagnosticError>(
          sourceOf(i), "",
          "rank " + std::to_string(inputs[i]->shape.size()) +
              " is above the runtime's maximum of " +
              std::to_string(SL_MAX_RANK));
    views_[i] = inputs[i]->view();
  }

  runtime::Status status = session_.run(views_.data(), views_.size());
  if (status)
    return llvm::Error::success();

  // Attribute input errors to the input's file; the runtime's message says
  // which input and what it expected.
  std::string file = sources_.front();
  for (size_t i = 0; i < inputs.size(); ++i) {
    sl_tensor_info info = inputInfo(i);
    bool wrongType = inputs[i]->dtype != info.dtype;
    bool wrongShape = inputs[i]->shape != infoDims(info);
    bool nonFinite =
        status.code() == SL_ERROR_NON_FINITE && firstNonFinite(*inputs[i]) >= 0;
    if (((status.code() == SL_ERROR_DTYPE_MISMATCH && wrongType) ||
         (status.code() == SL_ERROR_SHAPE_MISMATCH && wrongShape) ||
         nonFinite)) {
      file = sourceOf(i);
      std::string what = "input '" + std::string(info.name) + "' (" +
                         describeInfo(info) + ") rejected";
      if (wrongType || wrongShape)
        what += ", the file holds " + describeArray(*inputs[i]);
      return runtimeError(file, status, what);
    }
  }
  return runtimeError(file, status, "the run failed");
}

NpyArray ProgramSequence::output(size_t index) const {
  sl_tensor_view view{};
  runtime::Status status = session_.output(index, view);
  (void)status;
  assert(status && "output index out of range or no successful run");
  return NpyArray::fromView(view);
}
