//===- OpPrefetchTest.cpp - The lines the executor prefetches per op ------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The list itself (each line once, what fits), what the loader lists for a
// product op (its descriptors, its weight arrays, its code down to the
// kernel's loop for the path Prepare chose), which programs sessions
// prefetch for, and that prefetching changes no result.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include "Runtime/Kernels/FastKernels.h"
#include "Runtime/OpPrefetch.h"
#include "Runtime/Program.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace sparseloom {
namespace test {
namespace {

using namespace format;
using runtime::OpPrefetch;

uintptr_t lineOf(const void *p) {
  return reinterpret_cast<uintptr_t>(p) & ~uintptr_t(63);
}

bool lists(const OpPrefetch &list, const void *address) {
  return std::any_of(list.lines, list.lines + list.count, [&](const void *l) {
    return reinterpret_cast<uintptr_t>(l) == lineOf(address);
  });
}

bool listsCode(const OpPrefetch &list, const void *entry) {
  return std::find(list.code, list.code + list.codeCount, entry) !=
         list.code + list.codeCount;
}

TEST(OpPrefetch, ListsEachLineOnce) {
  alignas(64) static char buffer[64 * 8];
  OpPrefetch list;
  list.add(buffer + 32, 200); // bytes 32..231: lines 0-3
  ASSERT_EQ(list.count, 4u);
  for (unsigned i = 0; i < 4; ++i)
    EXPECT_EQ(list.lines[i], buffer + 64 * i);
  list.add(buffer + 100, 100); // lines 1-3 again
  list.add(buffer + 255, 2);   // lines 3 and 4
  ASSERT_EQ(list.count, 5u);
  EXPECT_EQ(list.lines[4], buffer + 256);
  list.add(nullptr, 64);
  list.add(buffer, 0);
  EXPECT_EQ(list.count, 5u);
}

TEST(OpPrefetch, KeepsWhatFits) {
  alignas(64) static char buffer[64 * (OpPrefetch::kCapacity + 8)];
  OpPrefetch list;
  list.add(buffer, sizeof(buffer));
  ASSERT_EQ(list.count, OpPrefetch::kCapacity);
  // The first lines named are the ones kept.
  EXPECT_EQ(list.lines[0], buffer);
  EXPECT_EQ(list.lines[OpPrefetch::kCapacity - 1],
            buffer + 64 * (OpPrefetch::kCapacity - 1));

  static char code[OpPrefetch::kCodeEntries + 2];
  list.addCode(code);
  list.addCode(code); // once
  list.addCode(nullptr);
  EXPECT_EQ(list.codeCount, 1u);
  for (char &entry : code)
    list.addCode(&entry);
  EXPECT_EQ(list.codeCount, OpPrefetch::kCodeEntries);
}

/// logits [tokens, n] = x [tokens, k] * W^T + b, W stored for `kernel`.
std::vector<uint8_t> fcProgram(KernelId kernel, uint32_t tokens, uint32_t n,
                               uint32_t k) {
  ProgramBuilder b("fc");
  uint32_t x = b.input("x", DType::F32, {tokens, k});
  std::vector<float> wm = randomFloats(size_t(n) * k, 5);
  sparsify(wm, 0.9, 6);
  uint32_t w = 0;
  if (kernel == KernelId::SpmmCsrAvx2)
    w = b.csrWeight("w", {n, k}, wm, n, k);
  else if (kernel == KernelId::DenseGemmAvx2)
    w = b.packedWeight("w", {n, k}, wm, n, k);
  else
    w = b.weight("w", {n, k}, wm);
  uint32_t bias = b.weight("b", {n}, randomFloats(n, 7));
  uint32_t y = b.activation("y", DType::F32, {tokens, n});
  GemmParams gp{};
  gp.transB = 1;
  gp.alpha = gp.beta = 1;
  b.op(Opcode::Gemm, {x, w, bias}, {y}, gp, kernel, "fc");
  b.output(y);
  return b.build();
}

struct LoadedProgram {
  sl_program *program = nullptr;
  explicit LoadedProgram(const std::vector<uint8_t> &blob) {
    sl_load_options options = {0, sl_builtin_op_resolver()};
    EXPECT_EQ(sl_program_load_ex(blob.data(), blob.size(), &options, nullptr,
                                 &program),
              SL_OK)
        << sl_last_error_message();
  }
  ~LoadedProgram() { sl_program_destroy(program); }
};

TEST(OpPrefetch, ListsWhatASparseClassifierReads) {
  if (!runtime::cpuHasAvx2Fma())
    GTEST_SKIP() << "no AVX2+FMA";
  LoadedProgram loaded(fcProgram(KernelId::SpmmCsrAvx2, 1, 2, 768));
  const sl_program &p = *loaded.program;
  ASSERT_EQ(p.header->numOps, 1u);
  const OpPrefetch &list = p.prefetch[0];
  const runtime::OpInstance &op = p.instances[0];
  EXPECT_TRUE(lists(list, &op));
  EXPECT_TRUE(lists(list, op.desc));
  EXPECT_TRUE(lists(list, op.inputs));
  EXPECT_TRUE(lists(list, op.params));
  EXPECT_TRUE(lists(list, op.kernel));
  EXPECT_TRUE(lists(list, op.weight));
  for (unsigned i = 0; i < 3; ++i)
    EXPECT_TRUE(lists(list, &op.input(i))) << "input " << i;
  EXPECT_TRUE(lists(list, &op.output(0)));
  // The CSR arrays' first lines, read from the blob as the loader did.
  const TensorDesc &w = op.input(1);
  const uint8_t *bytes = p.weights + w.offset;
  SparseMatrixHeader h;
  std::memcpy(&h, bytes, sizeof(h));
  EXPECT_TRUE(lists(list, bytes + h.rowPtrOffset));
  EXPECT_TRUE(lists(list, bytes + h.colIdxOffset));
  EXPECT_TRUE(lists(list, bytes + h.valuesOffset));
  // Eval's code down to the one-column loop: evalGemm, weightPath,
  // weightProduct, spmmCsrAvx2 and csrColumn.
  EXPECT_EQ(list.codeCount, 5u);
  EXPECT_TRUE(listsCode(list, runtime::codeAddress(op.kernel->eval)));
  EXPECT_TRUE(listsCode(list, runtime::codeAddress(&runtime::spmmCsrAvx2)));
  EXPECT_TRUE(listsCode(list, runtime::spmmColumnCode(false)));
  EXPECT_FALSE(listsCode(list, runtime::sgemvCode()));
}

TEST(OpPrefetch, CodeFollowsThePathPrepareChose) {
  if (!runtime::cpuHasAvx2Fma())
    GTEST_SKIP() << "no AVX2+FMA";
  {
    // Several tokens: the CSR rows, not the one-column loop.
    LoadedProgram loaded(fcProgram(KernelId::SpmmCsrAvx2, 8, 2, 768));
    const OpPrefetch &list = loaded.program->prefetch[0];
    EXPECT_TRUE(listsCode(list, runtime::codeAddress(&runtime::spmmCsrAvx2)));
    EXPECT_FALSE(listsCode(list, runtime::spmmColumnCode(false)));
  }
  {
    LoadedProgram loaded(fcProgram(KernelId::DenseGemmAvx2, 1, 2, 768));
    const OpPrefetch &list = loaded.program->prefetch[0];
    EXPECT_TRUE(
        listsCode(list, runtime::codeAddress(&runtime::sgemmPackedTransAvx2)));
    EXPECT_TRUE(listsCode(list, runtime::sgemvCode()));
    EXPECT_FALSE(listsCode(list, runtime::spmmColumnCode(false)));
  }
  {
    // The reference loops: Eval alone.
    LoadedProgram loaded(fcProgram(KernelId::Reference, 1, 2, 768));
    const sl_program &p = *loaded.program;
    EXPECT_EQ(p.prefetch[0].codeCount, 1u);
    EXPECT_TRUE(listsCode(p.prefetch[0],
                          runtime::codeAddress(p.instances[0].kernel->eval)));
  }
}

TEST(OpPrefetch, OnlyForProgramsTooBigToStayCached) {
  // 2 x 768 floats stay cached between runs; 512 x 768 (1.5 MiB) do not.
  LoadedProgram small(fcProgram(KernelId::Reference, 1, 2, 768));
  EXPECT_FALSE(small.program->prefetchOps);
  LoadedProgram big(fcProgram(KernelId::Reference, 1, 512, 768));
  EXPECT_TRUE(big.program->prefetchOps);
}

TEST(OpPrefetch, ChangesNoResult) {
  const KernelId kernels[] = {KernelId::Reference, KernelId::DenseGemmAvx2,
                              KernelId::SpmmCsrAvx2};
  for (KernelId kernel : kernels) {
    if (kernel != KernelId::Reference && !runtime::cpuHasAvx2Fma())
      continue;
    for (uint32_t tokens : {1u, 8u}) {
      std::vector<uint8_t> blob = fcProgram(kernel, tokens, 512, 768);
      Bytes x = Bytes::of(randomFloats(size_t(tokens) * 768, 9));
      RunResult with = runProgram(blob, {x});
      RunResult without = runProgram(blob, {x}, 1, SL_SESSION_NO_PREFETCH);
      ASSERT_TRUE(with.ok()) << with.message;
      ASSERT_TRUE(without.ok()) << without.message;
      EXPECT_EQ(with.outputs[0].data, without.outputs[0].data)
          << runtime::kernelIdName(kernel) << ", " << tokens << " tokens";
    }
  }
}

} // namespace
} // namespace test
} // namespace sparseloom
