//===- FusionTestUtils.h - Helpers of the lowering fusion tests -*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What the fusion tests share: random weights as IR text, a module with
// fuse-activation's marks, lowering with a kernel policy, a random input
// and a bitwise comparison of two programs' outputs (at 1-3 threads and on
// the Reference kernels).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TEST_LOWER_FUSIONTESTUTILS_H
#define SPARSELOOM_TEST_LOWER_FUSIONTESTUTILS_H

#include "LowerTestUtils.h"

#include "sparseloom/Pass/PassRegistry.h"

#include <cstdio>
#include <cstring>
#include <random>

namespace sparseloom {
namespace testing {

/// `n` uniform values in [-1, 1] as an IR `dense<[...]>` literal, each
/// zero with probability `sparsity`.
inline std::string values(size_t n, uint32_t seed, double sparsity) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::uniform_real_distribution<float> keep(0.f, 1.f);
  std::string out = "dense<[";
  char buf[32];
  for (size_t i = 0; i < n; ++i) {
    float v = dist(rng);
    if (keep(rng) < sparsity)
      v = 0.f;
    std::snprintf(buf, sizeof(buf), "%s%.9g", i ? ", " : "", double(v));
    out += buf;
  }
  return out + "]>";
}

/// An f32 tensor type, e.g. f32[1,16,10,10].
inline std::string dims(const std::vector<int64_t> &d) {
  std::string out = "f32[";
  for (size_t i = 0; i < d.size(); ++i)
    out += (i ? "," : "") + std::to_string(d[i]);
  return out + "]";
}

/// The module parsed from `text`, with fuse-activation's marks.
inline std::unique_ptr<Module> marked(const std::string &text) {
  std::unique_ptr<Module> module = parseOrDie(text);
  if (!module)
    return nullptr;
  auto passes = createPassPipeline("fuse-activation");
  EXPECT_TRUE(bool(passes)) << llvm::toString(passes.takeError());
  if (!passes)
    return nullptr;
  for (auto &pass : *passes)
    EXPECT_FALSE(bool(pass->run(*module))) << pass->name().str();
  return module;
}

/// The module lowered with `policy` (and the other `options`).
inline std::vector<uint8_t> lower(const Module &module, KernelPolicy policy,
                                  LoweringReport *report = nullptr,
                                  LowerOptions options = {}) {
  options.kernelPolicy = policy;
  auto blob = lowerModule(module, options, report);
  if (!blob) {
    ADD_FAILURE() << llvm::toString(blob.takeError());
    return {};
  }
  return std::move(*blob);
}

/// Random values in [-2, 2] for the module's first input.
inline FloatTensor input(const Module &module, uint32_t seed) {
  FloatTensor x;
  const TensorType type = module.graph.getType(module.graph.inputs[0]);
  x.dims = type.sizes();
  size_t n = 1;
  for (int64_t d : x.dims)
    n *= size_t(d);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.f, 2.f);
  for (size_t i = 0; i < n; ++i)
    x.values.push_back(dist(rng));
  return x;
}

/// Every float of `a` (fused) has the bits of `b`'s (unfused).
inline void expectBitIdentical(const std::vector<float> &a,
                               const std::vector<float> &b) {
  ASSERT_EQ(a.size(), b.size());
  size_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0 && bad++ < 5)
      ADD_FAILURE() << "at " << i << ": fused " << a[i] << ", unfused " << b[i];
}

/// Runs both one-output programs on `x` with 1, 2 and 3 threads and once
/// on the Reference kernels: `changed`'s output must have the bits of
/// `baseline`'s every time.
inline void expectSameBitsEverywhere(const std::vector<uint8_t> &baseline,
                                     const std::vector<uint8_t> &changed,
                                     const FloatTensor &x) {
  for (uint32_t flags : {0u, uint32_t(SL_LOAD_REFERENCE_KERNELS)})
    for (unsigned threads : {1u, 2u, 3u}) {
      if (flags && threads > 1)
        continue;
      SCOPED_TRACE(::testing::Message()
                   << "threads " << threads << " flags " << flags);
      auto want = runProgram(baseline, {x}, threads, flags);
      auto got = runProgram(changed, {x}, threads, flags);
      ASSERT_EQ(want.size(), 1u);
      ASSERT_EQ(got.size(), 1u);
      expectBitIdentical(got[0].values, want[0].values);
    }
}

} // namespace testing
} // namespace sparseloom

#endif // SPARSELOOM_TEST_LOWER_FUSIONTESTUTILS_H
