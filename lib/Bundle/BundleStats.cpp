//===- BundleStats.cpp - What deduplication saved -------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// "Before" is what storing every input program as it came would cost: each
// standalone blob, each weight descriptor's bytes. "After" is what the
// bundle stores for the same programs: the distinct programs they became
// (weights excluded) and the distinct pooled tensors they use. Counted per
// task over the programs its variants use, and over everything; the
// alignment padding of the sections is left out of both sides and reported
// in the section sizes instead.
//
//===----------------------------------------------------------------------===//

#include "BundleInternal.h"

#include "llvm/Support/Format.h"

#include <set>

using namespace sparseloom;
using namespace sparseloom::bundle;

BundleDedupStats
sparseloom::bundle::dedupStats(const std::vector<uint32_t> &inputs,
                               const std::vector<ProgramPlacement> &placements,
                               const std::vector<uint64_t> &storedProgramBytes,
                               const TensorPool &pool) {
  BundleDedupStats stats;
  std::set<uint32_t> stored, tensors;
  for (uint32_t i : inputs) {
    const ProgramPlacement &p = placements[i];
    ++stats.programsBefore;
    stats.programBytesBefore += p.standaloneBytes;
    stats.weightTensorsBefore += p.weightTensors;
    stats.weightBytesBefore += p.weightBytes;
    stored.insert(p.storedIndex);
    tensors.insert(p.tensors.begin(), p.tensors.end());
  }
  stats.programsAfter = stored.size();
  for (uint32_t s : stored)
    stats.programBytesAfter += storedProgramBytes[s];
  stats.weightTensorsAfter = tensors.size();
  for (uint32_t t : tensors)
    stats.weightBytesAfter += pool.entries()[t].bytes;
  return stats;
}

namespace {

void printRow(llvm::raw_ostream &os, llvm::StringRef what,
              const BundleDedupStats &s) {
  auto ratio = [](uint64_t after, uint64_t before) {
    return before ? 100.0 * double(after) / double(before) : 100.0;
  };
  os << llvm::format("  %-16s %5llu -> %-5llu %12llu -> %-12llu %5llu -> "
                     "%-5llu %12llu -> %-12llu (%.1f %%)\n",
                     what.str().c_str(), (unsigned long long)s.programsBefore,
                     (unsigned long long)s.programsAfter,
                     (unsigned long long)s.programBytesBefore,
                     (unsigned long long)s.programBytesAfter,
                     (unsigned long long)s.weightTensorsBefore,
                     (unsigned long long)s.weightTensorsAfter,
                     (unsigned long long)s.weightBytesBefore,
                     (unsigned long long)s.weightBytesAfter,
                     ratio(s.weightBytesAfter, s.weightBytesBefore));
}

} // namespace

void sparseloom::printBundleStats(llvm::raw_ostream &os,
                                  const BundleStats &stats) {
  os << "Deduplication (before -> after):\n"
     << llvm::format("  %-16s %-14s %-28s %-14s %s\n", (const char *)"",
                     (const char *)"programs", (const char *)"program bytes",
                     (const char *)"weights", (const char *)"weight bytes");
  for (const auto &[task, s] : stats.tasks)
    printRow(os, task, s);
  printRow(os, "total", stats.total);
  os << "File: " << stats.fileBytes << " bytes (tensor data "
     << stats.tensorDataBytes << ", program data " << stats.programDataBytes
     << ")\n";
}
