//===- FamilyTestUtils.h - Building families in stitching tests -*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Shared by the alignment, compatibility and split tests: families from
// textual IR (one text per member, file names that carry the variant), from
// the zoo, and running a pipeline over a family as sparseloom-opt does.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TEST_STITCH_FAMILYTESTUTILS_H
#define SPARSELOOM_TEST_STITCH_FAMILYTESTUTILS_H

#include "sparseloom/IR/Family.h"
#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Tool/FamilyLoader.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "gtest/gtest.h"

#include <string>
#include <utility>
#include <vector>

namespace sparseloom {

/// A family from (file name, IR text) pairs; the file names only name the
/// members (task.variant.slir). Parse failures are test failures.
inline Family
familyFromText(const std::vector<std::pair<std::string, std::string>> &texts) {
  Family family;
  for (const auto &entry : texts) {
    auto module =
        loadModelFromText(entry.second, InputFormat::IRText, entry.first);
    if (!module) {
      ADD_FAILURE() << llvm::toString(module.takeError());
      continue;
    }
    FamilyNames names = familyNamesFor(entry.first);
    if (family.task.empty())
      family.task = names.task;
    family.members.push_back(
        FamilyMember{names.variant, entry.first, std::move(*module)});
  }
  return family;
}

inline std::string zooPath(const std::string &task,
                           const std::string &variant) {
  return std::string(SPARSELOOM_SOURCE_DIR) + "/examples/zoo/" + task + "/" +
         task + "." + variant + ".onnx";
}

/// The zoo family of `task` with the given variants (first: reference).
inline Family zooFamily(const std::string &task,
                        const std::vector<std::string> &variants) {
  std::vector<std::string> files;
  for (const std::string &v : variants)
    files.push_back(zooPath(task, v));
  auto family = loadFamily(files, "");
  if (!family) {
    ADD_FAILURE() << llvm::toString(family.takeError());
    return Family();
  }
  return std::move(*family);
}

/// Runs `pipeline` over the family with PassManager::run(Family&).
inline llvm::Error runOnFamily(Family &family, llvm::StringRef pipeline) {
  auto passes = createPassPipeline(pipeline);
  if (!passes)
    return passes.takeError();
  PassManagerOptions options;
  options.verifyEach = true;
  PassManager pm(options);
  for (auto &pass : *passes)
    pm.addPass(std::move(pass));
  return pm.run(family);
}

inline std::string errorText(llvm::Error err) {
  return llvm::toString(std::move(err));
}

} // namespace sparseloom

#endif // SPARSELOOM_TEST_STITCH_FAMILYTESTUTILS_H
