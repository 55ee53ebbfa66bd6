//===- ConformanceSmoke.cpp - Round-trip ONNX's own test models -----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// sparseloom-conformance-smoke [DIR]
//
// Walks DIR/node/*/model.onnx (ONNX's operator conformance models, by
// default from the libonnx-testdata package), keeps the models whose every
// node is an op SparseLoom supports (OpRegistry.h), and for each one checks
// that import succeeds and that import(export(import(x))) equals import(x),
// both structurally (ModuleComparison.h) and as printed IR.
//
// A candidate that fails import for a documented reason (its opset is
// outside the supported range, ONNX's own checker or version converter
// rejects it, or it uses a type the IR cannot hold) is listed under its own
// heading and does not fail the run. Any other import error, any export or
// re-import error and any round-trip difference fails the run: these are
// bugs in the importer or the exporter.
//
//===----------------------------------------------------------------------===//

#include "ModuleComparison.h"

#include "sparseloom/Export/OnnxExporter.h"
#include "sparseloom/IR/OpRegistry.h"
#include "sparseloom/IR/Printer.h"
#include "sparseloom/Import/OnnxImporter.h"

#include "onnx/onnx_pb.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <string>
#include <vector>

using namespace sparseloom;

namespace {

constexpr const char *kDefaultDir = "/usr/share/libonnx-testdata/data";

struct Outcome {
  std::string test;   // the test directory name, e.g. test_conv_with_padding
  std::string reason; // empty on success
};

/// Import errors that reflect a documented limit, not a bug. Matched on the
/// importer's own wording (lib/Import), which the unit tests pin down.
bool isExplainedImportError(llvm::StringRef message) {
  static const char *const explained[] = {
      "unsupported opset",                   // outside kMin/kMaxImportOpset
      "the ONNX checker rejected",           // ONNX's checker says invalid
      "cannot convert the model from opset", // ONNX's version converter failed
      "which SparseLoom does not support",   // element type (complex, ...)
      "supports tensor values only",         // sequence/optional/map values
      "is not supported",                    // attribute kinds, local functions
  };
  return llvm::any_of(explained,
                      [&](const char *s) { return message.contains(s); });
}

/// True when every node of the model is an op SparseLoom knows.
bool usesOnlyKnownOps(const onnx::ModelProto &model) {
  return llvm::all_of(model.graph().node(), [](const onnx::NodeProto &node) {
    return lookupOp(node.domain(), node.op_type()) != nullptr;
  });
}

std::vector<std::string> listTestDirs(llvm::StringRef nodeDir) {
  std::vector<std::string> dirs;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(nodeDir, ec), end; it != end && !ec;
       it.increment(ec)) {
    llvm::SmallString<256> model(it->path());
    llvm::sys::path::append(model, "model.onnx");
    if (llvm::sys::fs::exists(model))
      dirs.push_back(it->path());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

void printList(llvm::StringRef heading, const std::vector<Outcome> &items) {
  if (items.empty())
    return;
  llvm::outs() << heading << " (" << items.size() << "):\n";
  for (const Outcome &o : items)
    llvm::outs() << "  " << o.test << ": " << o.reason << "\n";
}

} // namespace

int main(int argc, char **argv) {
  if (argc > 2 || (argc == 2 && (llvm::StringRef(argv[1]) == "-h" ||
                                 llvm::StringRef(argv[1]) == "--help"))) {
    llvm::errs() << "usage: sparseloom-conformance-smoke [DIR]\n"
                 << "  DIR holds node/<test>/model.onnx (default "
                 << kDefaultDir << ")\n";
    return 2;
  }
  std::string root = argc == 2 ? argv[1] : kDefaultDir;
  llvm::SmallString<256> nodeDir(root);
  llvm::sys::path::append(nodeDir, "node");
  std::vector<std::string> dirs = listTestDirs(nodeDir);
  if (dirs.empty()) {
    llvm::errs() << "sparseloom-conformance-smoke: error: no models under "
                 << nodeDir << "/*/model.onnx\n";
    return 2;
  }

  size_t candidates = 0, imported = 0;
  std::vector<Outcome> failures, explained;
  for (const std::string &dir : dirs) {
    std::string test = llvm::sys::path::filename(dir).str();
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, "model.onnx");
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    onnx::ModelProto proto;
    if (!buffer || !proto.ParseFromArray((*buffer)->getBufferStart(),
                                         int((*buffer)->getBufferSize()))) {
      failures.push_back({test, "cannot read the model with protobuf"});
      continue;
    }
    if (!usesOnlyKnownOps(proto))
      continue;
    ++candidates;

    llvm::StringRef bytes = (*buffer)->getBuffer();
    auto first = importOnnxBytes(bytes, dir);
    if (!first) {
      std::string message = llvm::toString(first.takeError());
      (isExplainedImportError(message) ? explained : failures)
          .push_back({test, "import: " + message});
      continue;
    }
    ++imported;
    auto exported = exportOnnxBytes(**first);
    if (!exported) {
      failures.push_back(
          {test, "export: " + llvm::toString(exported.takeError())});
      continue;
    }
    auto second = importOnnxBytes(*exported, dir);
    if (!second) {
      failures.push_back(
          {test, "re-import: " + llvm::toString(second.takeError())});
      continue;
    }
    std::string diff = testsupport::describeModuleDifference(**first, **second);
    if (!diff.empty()) {
      failures.push_back({test, "round trip differs: " + diff});
      continue;
    }
    // The printed IR (every weight value included) must agree as well.
    PrintOptions printAll;
    printAll.elideWeightsAbove = -1;
    if (printModuleToString(**first, printAll) !=
        printModuleToString(**second, printAll))
      failures.push_back({test, "round trip differs in the printed IR"});
  }

  llvm::outs() << "imported " << imported << " of " << candidates
               << " candidate models (" << dirs.size() - candidates
               << " skipped: unsupported ops)\n";
  printList(
      "expected import failures (documented limits, not counted as failures)",
      explained);
  printList("FAILURES", failures);
  llvm::outs() << (failures.empty() ? "PASS" : "FAIL") << ": "
               << failures.size() << " failure(s)\n";
  return failures.empty() ? 0 : 1;
}
