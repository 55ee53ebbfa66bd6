//===- BundleTestUtils.h - Real bundles for the bundle tests ----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The bundle tests work on real programs: zoo families (examples/zoo/<task>)
// split into segments with the family passes and lowered with
// compileForRuntime, exactly as the compiler will feed the writer. Compiling
// is the slow part, so each family is compiled once per test binary and
// shared.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TEST_UNIT_BUNDLE_BUNDLETESTUTILS_H
#define SPARSELOOM_TEST_UNIT_BUNDLE_BUNDLETESTUTILS_H

#include "sparseloom/Bundle/BundleWriter.h"
#include "sparseloom/Runtime/Npy.h"
#include "sparseloom/Runtime/Runtime.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sparseloom {
namespace bundletest {

/// A zoo family compiled at a fixed batch: every member whole, and every
/// member cut into the same segments.
struct CompiledFamily {
  std::string task;
  std::vector<std::string> members;        // "dense", "s90", ...
  std::vector<std::vector<uint8_t>> whole; // [member]
  std::vector<std::vector<std::vector<uint8_t>>> segments; // [member][seg]
  BundleContents::Tensor input, output;
  runtime::NpyArray sample; // the first `batch` test inputs
  uint32_t numClasses = 0;
};

/// examples/zoo/<task> with the given members, `segments` segments, batch
/// `batch`; compiled on first use and cached. Fails the calling test (and
/// returns an empty family) when anything goes wrong.
const CompiledFamily &family(const std::string &task,
                             const std::vector<std::string> &members,
                             unsigned segments, int64_t batch);

/// The digits family (dense, s90; 2 segments; batch 4) and kws (dense, s80;
/// 2 segments; batch 2): small enough to compile in seconds.
const CompiledFamily &digits();
const CompiledFamily &kws();

/// One processor, "cpu".
BundleContents::Processor cpuProcessor();

/// A task for `f` with one variant per choice of member per segment (all
/// k^n of them; programs in order member-major, k*n in all). Accuracies and
/// latencies are made up but distinct: variant v has estimated accuracy
/// 0.9 - 0.8 v / k^n, measured 0.005 less for even v (NaN for odd v), and
/// latency 1 + v ms on every processor.
BundleContents::Task stitchedTask(const CompiledFamily &f,
                                  BundleContents &contents);

/// Contents with the stitched task of each family and one CPU.
BundleContents stitchedContents(const std::vector<const CompiledFamily *> &fs);

/// Bytes at a 64-byte aligned address, as sl_bundle_open needs.
class AlignedBytes {
public:
  explicit AlignedBytes(const std::vector<uint8_t> &bytes);
  const uint8_t *data() const {
    return reinterpret_cast<const uint8_t *>(blocks_.data());
  }
  uint8_t *data() { return reinterpret_cast<uint8_t *>(blocks_.data()); }
  size_t size() const { return size_; }

private:
  struct alignas(64) Block {
    uint8_t b[64];
  };
  std::vector<Block> blocks_;
  size_t size_;
};

/// Runs standalone program blobs in sequence on `input`; the outputs.
std::vector<runtime::NpyArray>
runStandalone(const std::vector<const std::vector<uint8_t> *> &blobs,
              const runtime::NpyArray &input);

/// Runs variant `variant` of task `task` through a bundle session.
std::vector<runtime::NpyArray> runVariant(const runtime::Bundle &bundle,
                                          size_t task, size_t variant,
                                          const runtime::NpyArray &input);

/// Recomputes every section CRC and the header CRC of a bundle image (after
/// a test edited it), so the edit reaches the checks behind the checksums.
/// Reads the section table as it is; does nothing when it is out of range.
void fixChecksums(std::vector<uint8_t> &bytes);

/// Recomputes the body CRC of the program stored at `offset` of a bundle.
void fixProgramChecksum(std::vector<uint8_t> &bytes, uint64_t offset);

} // namespace bundletest
} // namespace sparseloom

#endif // SPARSELOOM_TEST_UNIT_BUNDLE_BUNDLETESTUTILS_H
