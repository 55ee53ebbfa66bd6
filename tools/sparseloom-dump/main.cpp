//===- main.cpp - sparseloom-dump: a bundle as readable text --------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Prints a bundle (.loom) after verifying it with the runtime's own loader:
// a summary by default, or the section table, the variant tables, the tensor
// pool, or all of it as JSON. The command line is parsed here; everything
// else is dumpBundle() in lib/Bundle (docs/UserGuide.md, "sparseloom-dump").
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Bundle/DumpDriver.h"
#include "sparseloom/Support/Diagnostics.h"

#include "CLI/CLI.hpp"
#include "llvm/Support/raw_ostream.h"

using namespace sparseloom;

namespace {

constexpr const char *kTool = "sparseloom-dump";

constexpr const char *kFooter = R"(
The bundle is opened exactly as the runtime opens it on a device
(sl_bundle_open): header, section table, every section's CRC-32, every table
entry and index, every tensor's content hash, and every program loaded with
its weights from the shared pool. A bundle the runtime would reject is an
error: `sparseloom-dump: error: FILE: message`, exit status 1.

Without a part option the summary is printed: sizes and counts, processors,
tasks (inputs, outputs, SLO defaults, source variants), programs and the
variant table of every task. Part options print the overview line and the
parts asked for; with --json the same parts (all when none is asked for) are
one JSON object, with null for a latency where a variant cannot run, a
measured accuracy that was not measured and a deadline of "none".

In the variant table, `lat` lists the latency in ms on each processor ("-":
cannot run there) and `seg` each segment's program and source variant.
The format is specified in docs/BundleFormat.md.
)";

} // namespace

int main(int argc, char **argv) {
  DumpRequest request;
  CLI::App app{"sparseloom-dump: verify a SparseLoom bundle (.loom) and print "
               "what it holds."};
  app.add_option("bundle", request.path, "The bundle file (.loom)")->required();
  app.add_flag("--sections", request.sections,
               "Print the section table: kind, offset, bytes, entries and "
               "CRC-32 of every section");
  app.add_flag("--variants", request.variants,
               "Print every task's stitched variants: id, name, estimated and "
               "measured accuracy, memory, latency per processor, segments");
  app.add_flag("--tensors", request.tensors,
               "Print the tensor pool: offset, bytes, encoding, shape, content "
               "hash and how many programs use each tensor");
  app.add_flag("--json", request.json,
               "Print as one JSON object (the parts asked for, else "
               "everything)");
  app.footer(kFooter);
  CLI11_PARSE(app, argc, argv);

  if (llvm::Error err = dumpBundle(request, llvm::outs())) {
    llvm::outs().flush();
    reportError(kTool, std::move(err));
    return 1;
  }
  return 0;
}
