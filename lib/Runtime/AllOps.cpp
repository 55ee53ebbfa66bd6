//===- AllOps.cpp - The built-in resolver and the all-ops entry points ----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Everything that names every kernel family lives in this one file, so an
// application that builds its own resolver and calls sl_program_load_ex
// never links it, and the linker drops the families it did not register.
//
//===----------------------------------------------------------------------===//

#include "Program.h"

#include "Kernels/FastKernels.h"

namespace sparseloom {
namespace runtime {

void registerAllOps(OpResolver &resolver) {
  registerConvOps(resolver);
  registerGemmOps(resolver);
  registerBinaryOps(resolver);
  registerUnaryOps(resolver);
  registerNormalizationOps(resolver);
  registerReductionOps(resolver);
  registerPoolingOps(resolver);
  registerDataMovementOps(resolver);
}

size_t opScratchBytes(const OpView &op, unsigned threads) {
  const OpKernel *kernel = sl_builtin_op_resolver()->find(op.desc->opcode);
  if (!kernel || !kernel->scratch)
    return 0;
  return kernel->scratch(op, op.desc->kernel, threads ? threads : 1);
}

} // namespace runtime
} // namespace sparseloom

using namespace sparseloom;

extern "C" {

const sl_op_resolver *sl_builtin_op_resolver(void) {
  // Built once, thread-safely, on first use; no allocation (fixed table).
  static const sl_op_resolver resolver = [] {
    sl_op_resolver r;
    runtime::registerAllOps(r);
    return r;
  }();
  return &resolver;
}

sl_status sl_program_load(const void *bytes, size_t size,
                          const sl_allocator *allocator,
                          sl_program **out_program) {
  sl_load_options options = {0, sl_builtin_op_resolver()};
  return runtime::loadProgram(bytes, size, &options, allocator, out_program);
}

int sl_cpu_has_avx2_fma(void) { return runtime::cpuHasAvx2Fma() ? 1 : 0; }

} // extern "C"
