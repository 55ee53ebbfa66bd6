//===- DumpInternal.h - Shared pieces of sparseloom-dump --------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Helpers the text (DumpDriver.cpp) and JSON (DumpJson.cpp) printers share.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_BUNDLE_DUMPINTERNAL_H
#define SPARSELOOM_LIB_BUNDLE_DUMPINTERNAL_H

#include "sparseloom/Bundle/DumpDriver.h"
#include "sparseloom/Runtime/Runtime.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sparseloom {
namespace dump {

/// "float32[1,1,8,8]".
std::string describeShape(sl_dtype dtype, uint32_t rank, const int64_t *dims);
std::string describeTensor(const sl_tensor_info &info);

/// For each pooled tensor, how many stored programs use it.
std::vector<uint32_t> tensorUsers(const runtime::Bundle &bundle);

/// The parts `request` selects (all when none is) as one JSON object.
void printJson(const runtime::Bundle &bundle, const DumpRequest &request,
               llvm::raw_ostream &out);

} // namespace dump
} // namespace sparseloom

#endif // SPARSELOOM_LIB_BUNDLE_DUMPINTERNAL_H
