//===- PassManager.cpp - Pipelines and the pass manager -------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Pass/PassManager.h"

#include "sparseloom/IR/FamilyPrinter.h"
#include "sparseloom/IR/Verifier.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/Format.h"

#include <algorithm>

namespace sparseloom {

llvm::Expected<std::vector<PipelineElement>>
parsePipelineText(llvm::StringRef pipeline) {
  std::vector<PipelineElement> elements;
  llvm::StringRef rest = pipeline.trim();
  while (!rest.empty()) {
    size_t nameEnd = rest.find_first_of(",(");
    PipelineElement element;
    element.passName = rest.substr(0, nameEnd).trim().str();
    if (element.passName.empty())
      return makeError("malformed pass pipeline '" + pipeline +
                       "': expected a pass name");
    rest = nameEnd == llvm::StringRef::npos ? llvm::StringRef()
                                            : rest.substr(nameEnd);
    if (rest.startswith("(")) {
      size_t close = rest.find(')');
      if (close == llvm::StringRef::npos)
        return makeError("malformed pass pipeline '" + pipeline +
                         "': missing ')' after options of '" +
                         element.passName + "'");
      llvm::SmallVector<llvm::StringRef, 4> options;
      rest.substr(1, close - 1).split(options, ',', -1, /*KeepEmpty=*/false);
      for (llvm::StringRef option : options) {
        auto kv = option.split('=');
        llvm::StringRef key = kv.first.trim();
        if (key.empty())
          return makeError("malformed option '" + option + "' of pass '" +
                           element.passName + "': expected key=value");
        element.options.set(key.str(), kv.second.trim().str());
      }
      rest = rest.substr(close + 1).ltrim();
    }
    if (!rest.empty()) {
      if (!rest.startswith(","))
        return makeError("malformed pass pipeline '" + pipeline +
                         "': expected ',' after '" + element.passName + "'");
      rest = rest.drop_front().ltrim();
      if (rest.empty())
        return makeError("malformed pass pipeline '" + pipeline +
                         "': trailing ','");
    }
    elements.push_back(std::move(element));
  }
  return elements;
}

namespace {

/// Says which pass failed without losing the file and node the error names.
llvm::Error annotateWithPass(llvm::Error err, const std::string &passName) {
  llvm::Error annotated = llvm::Error::success();
  llvm::handleAllErrors(
      std::move(err),
      [&](std::unique_ptr<DiagnosticError> diag) {
        annotated = llvm::joinErrors(
            std::move(annotated),
            llvm::make_error<DiagnosticError>(diag->file(), diag->node(),
                                              diag->reason() + " [in pass '" +
                                                  passName + "']"));
      },
      [&](const llvm::ErrorInfoBase &other) {
        annotated = llvm::joinErrors(
            std::move(annotated),
            makeError(other.message() + " [in pass '" + passName + "']"));
      });
  return annotated;
}

} // namespace

llvm::Error PassManager::afterPass(const Pass &pass, Module *module,
                                   Family *family) {
  if (options_.verifyEach) {
    auto verifyOne = [&](const Module &m, llvm::StringRef file) -> llvm::Error {
      if (llvm::Error err = verify(m))
        return llvm::joinErrors(
            makeError("IR is invalid after pass '" + pass.name() + "'"),
            withFile(std::move(err), file));
      return llvm::Error::success();
    };
    if (module)
      if (llvm::Error err = verifyOne(*module, ""))
        return err;
    if (family) {
      for (const FamilyMember &member : family->members)
        if (llvm::Error err = verifyOne(*member.module, member.file))
          return err;
      if (family->state.segments)
        for (const auto &segments : family->state.segments->perMember)
          for (const auto &segment : segments)
            if (llvm::Error err = verifyOne(*segment, segment->graph.name))
              return err;
    }
  }
  if (options_.printAfterAll || options_.printAfter.count(pass.name().str())) {
    *options_.irDump << "// -----// IR Dump After " << pass.name()
                     << " //----- //\n";
    if (module)
      printModule(*module, *options_.irDump, options_.printOptions);
    if (family)
      printFamily(*family, *options_.irDump, options_.printOptions);
  }
  return llvm::Error::success();
}

llvm::Error PassManager::run(Module &module) {
  for (auto &pass : passes_) {
    pass->setProgressSink(options_.progress);
    if (llvm::Error err = pass->run(module))
      return annotateWithPass(std::move(err), pass->name().str());
    if (llvm::Error err = afterPass(*pass, &module, nullptr))
      return err;
  }
  return llvm::Error::success();
}

llvm::Error PassManager::run(Family &family) {
  for (auto &pass : passes_) {
    pass->setProgressSink(options_.progress);
    if (llvm::Error err = pass->runOnFamily(family))
      return annotateWithPass(std::move(err), pass->name().str());
    if (llvm::Error err = afterPass(*pass, nullptr, &family))
      return err;
  }
  return llvm::Error::success();
}

void PassManager::printStatistics(llvm::raw_ostream &os) const {
  os << "===" << std::string(73, '-') << "===\n"
     << "                         ... Pass statistics report ...\n"
     << "===" << std::string(73, '-') << "===\n";
  for (const auto &pass : passes_) {
    os << pass->name() << "\n";
    for (const PassStatisticInfo &stat : pass->info().statistics)
      os << llvm::format("  (S) %6lld %s - %s\n",
                         (long long)pass->statistics().get(stat.name),
                         stat.name.c_str(), stat.description.c_str());
  }
}

} // namespace sparseloom
