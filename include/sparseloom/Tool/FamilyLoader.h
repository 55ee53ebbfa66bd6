//===- FamilyLoader.h - Loading and writing families of models --*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The tools' side of families: naming the task and variants from file names,
// loading every member, and writing a family's segments to a directory all
// at once (a failure leaves nothing behind).
//
// Naming rule (docs/Stitching.md): strip the directory and the model
// extension (.onnx, .onnxtext, .onnxtxt, .slir); the task is the text before
// the first '.', the variant the text after the last '.':
//   digits.s90.onnx          -> task "digits",   variant "s90"
//   resnet50.dense.s50.onnx  -> task "resnet50", variant "s50"
//   glyphs.channel.onnx      -> task "glyphs",   variant "channel"
//   model.onnx               -> task "model",    variant "model"
// The family's task is the first file's (or --task); variants must differ.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TOOL_FAMILYLOADER_H
#define SPARSELOOM_TOOL_FAMILYLOADER_H

#include "sparseloom/IR/Family.h"
#include "sparseloom/Import/OnnxImporter.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace sparseloom {

struct FamilyNames {
  std::string task;
  std::string variant;
};

/// The task and variant a file name implies (rule above).
FamilyNames familyNamesFor(llvm::StringRef path);

/// A family of one around an already loaded module, named by the rule.
Family familyOfOne(std::unique_ptr<Module> module, llvm::StringRef path);

/// Loads every file as a member, the first being the reference. `task`
/// overrides the derived task name when not empty. Fails on the first file
/// that does not load, on a repeated variant name, or on an empty list.
llvm::Expected<Family> loadFamily(llvm::ArrayRef<std::string> files,
                                  llvm::StringRef task,
                                  const ImportOptions &options = {});

/// Writes segment s of member m as DIR/<task>.<variant>.seg<s>.onnx (each
/// through ONNX's checker). Everything is written into a fresh directory next
/// to DIR first and moved into place only when all of it succeeded; DIR is
/// created when missing. Requires split to have run.
llvm::Error writeFamilySegments(const Family &family, llvm::StringRef dir);

} // namespace sparseloom

#endif // SPARSELOOM_TOOL_FAMILYLOADER_H
