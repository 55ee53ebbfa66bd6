//===- FamilyLoader.cpp - Loading and writing families of models ----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Writing segments is all or nothing: they go into a unique sibling
// directory of the destination (same file system, so the final moves are
// renames), and only when every segment exported and passed ONNX's checker
// is that directory renamed to the destination, or, when the destination
// already exists, its files are renamed into it one by one.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Tool/FamilyLoader.h"

#include "sparseloom/Support/FileIO.h"

#include "sparseloom/Export/OnnxExporter.h"
#include "sparseloom/Stitch/Splitting.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <vector>

namespace sparseloom {

FamilyNames familyNamesFor(llvm::StringRef path) {
  llvm::StringRef stem = llvm::sys::path::filename(path);
  for (llvm::StringRef ext : {".onnx", ".onnxtext", ".onnxtxt", ".slir"})
    if (stem.endswith(ext) && stem.size() > ext.size()) {
      stem = stem.drop_back(ext.size());
      break;
    }
  FamilyNames names;
  names.task = stem.split('.').first.str();
  names.variant = stem.rsplit('.').second.str();
  if (names.variant.empty())
    names.variant = stem.str();
  return names;
}

Family familyOfOne(std::unique_ptr<Module> module, llvm::StringRef path) {
  FamilyNames names = familyNamesFor(path);
  Family family =
      Family::ofOne(std::move(module), path.str(), std::move(names.variant));
  family.task = std::move(names.task);
  return family;
}

llvm::Expected<Family> loadFamily(llvm::ArrayRef<std::string> files,
                                  llvm::StringRef task,
                                  const ImportOptions &options) {
  if (files.empty())
    return makeError("--family needs at least one model file");
  Family family;
  family.task = task.empty() ? familyNamesFor(files.front()).task : task.str();
  llvm::StringMap<std::string> seen; // variant -> file
  for (const std::string &file : files) {
    FamilyNames names = familyNamesFor(file);
    auto inserted = seen.try_emplace(names.variant, file);
    if (!inserted.second)
      return withFile(makeError("its variant name '" + names.variant +
                                "' repeats that of " + inserted.first->second +
                                "; name the files <task>.<variant>.onnx "
                                "with distinct variants"),
                      file);
    auto module = loadModel(file, options);
    if (!module)
      return module.takeError();
    family.members.push_back(
        FamilyMember{std::move(names.variant), file, std::move(*module)});
  }
  return family;
}

llvm::Error writeFamilySegments(const Family &family, llvm::StringRef dir) {
  if (!family.state.segments)
    return withFile(makeError("--emit=onnx for a family writes its segments: "
                              "add split to the pipeline (e.g. "
                              "align-family,detect-boundaries,split)"),
                    family.members.front().file);
  if (dir.empty() || dir == "-")
    return makeError("--emit=onnx for a family writes one file per segment: "
                     "give a directory with -o DIR");
  std::vector<DirectoryEntry> files;
  const auto &perMember = family.state.segments->perMember;
  for (unsigned m = 0; m < perMember.size(); ++m)
    for (unsigned s = 0; s < perMember[m].size(); ++s) {
      auto bytes = exportOnnxBytes(*perMember[m][s]);
      if (!bytes)
        return withFile(bytes.takeError(), family.members[m].file);
      files.push_back({segmentName(family, m, s) + ".onnx", std::move(*bytes)});
    }
  return writeDirectoryAtomically(dir, files);
}

} // namespace sparseloom
