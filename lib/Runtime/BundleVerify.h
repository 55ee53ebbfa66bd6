//===- BundleVerify.h - Checks of a bundle's tables (internal) --*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The three steps sl_bundle_open runs after the frame (header, section
// table, CRCs) is verified and every section is bound to the bundle. Each
// step reads only what the steps before it proved in bounds.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_RUNTIME_BUNDLEVERIFY_H
#define SPARSELOOM_LIB_RUNTIME_BUNDLEVERIFY_H

#include "Bundle.h"

namespace sparseloom {
namespace runtime {

/// Records a printf-style message as the thread's last error and returns
/// SL_ERROR_INVALID_BUNDLE: every check of sl_bundle_open reports this way.
sl_status bundleInvalid(const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/// Strings, the tensor table (bounds, order, dtype/encoding/dims, content
/// hashes), the program table and each program's tensor list.
sl_status verifyStorageTables(sl_bundle &bundle);

/// Loads every program in place with its weights from the pool (the
/// program loader's checks, plus external weights matching the pool), and
/// checks that every pooled tensor is used by some program.
sl_status loadBundlePrograms(sl_bundle &bundle);

/// Processors, tasks, their inputs/outputs and source variants, variants,
/// segments and latencies; that every variant's programs chain (program
/// i's outputs are program i+1's inputs) and take and give the task's
/// inputs and outputs.
sl_status verifyTaskTables(const sl_bundle &bundle);

} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_LIB_RUNTIME_BUNDLEVERIFY_H
