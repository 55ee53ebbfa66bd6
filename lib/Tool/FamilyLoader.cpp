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
  bool exists = llvm::sys::fs::exists(dir);
  if (exists && !llvm::sys::fs::is_directory(dir))
    return llvm::make_error<DiagnosticError>(
        dir.str(), "",
        "is not a directory; -o names the directory for the segments");

  llvm::SmallString<256> parent(dir);
  llvm::sys::path::remove_filename(parent);
  if (parent.empty())
    parent = ".";
  // createUniqueDirectory puts a relative model under the system temporary
  // directory; the temporary must sit next to DIR so the final rename stays
  // on one filesystem.
  if (std::error_code ec = llvm::sys::fs::make_absolute(parent))
    return llvm::make_error<DiagnosticError>(
        dir.str(), "", "cannot resolve its directory: " + ec.message());
  llvm::SmallString<256> model(parent);
  llvm::sys::path::append(model, llvm::sys::path::filename(dir) + ".tmp%%%%%%");
  llvm::SmallString<256> temp;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory(model, temp))
    return llvm::make_error<DiagnosticError>(
        dir.str(), "", "cannot create a directory next to it: " + ec.message());
  auto cleanup = [&] { llvm::sys::fs::remove_directories(temp); };

  std::vector<std::string> names;
  const auto &perMember = family.state.segments->perMember;
  for (unsigned m = 0; m < perMember.size(); ++m)
    for (unsigned s = 0; s < perMember[m].size(); ++s) {
      std::string name = segmentName(family, m, s) + ".onnx";
      llvm::SmallString<256> path(temp);
      llvm::sys::path::append(path, name);
      if (llvm::Error err = exportOnnxFile(*perMember[m][s], path)) {
        cleanup();
        return withFile(std::move(err), family.members[m].file);
      }
      names.push_back(name);
    }

  if (!exists) {
    if (std::error_code ec = llvm::sys::fs::rename(temp, dir)) {
      cleanup();
      return llvm::make_error<DiagnosticError>(dir.str(), "",
                                               "cannot write: " + ec.message());
    }
    return llvm::Error::success();
  }
  for (const std::string &name : names) {
    llvm::SmallString<256> from(temp), to(dir);
    llvm::sys::path::append(from, name);
    llvm::sys::path::append(to, name);
    if (std::error_code ec = llvm::sys::fs::rename(from, to)) {
      cleanup();
      return llvm::make_error<DiagnosticError>(to.str().str(), "",
                                               "cannot write: " + ec.message());
    }
  }
  cleanup();
  return llvm::Error::success();
}

} // namespace sparseloom
