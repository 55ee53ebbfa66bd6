//===- LowerTestUtils.h - Building, lowering and running in tests -*- C++
//-*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Shared by the lowering tests: parse a module from textual IR, lower it, and
// run a program through the runtime's C API to compare numbers.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TEST_LOWER_LOWERTESTUTILS_H
#define SPARSELOOM_TEST_LOWER_LOWERTESTUTILS_H

#include "sparseloom/IR/Parser.h"
#include "sparseloom/Lower/Lower.h"
#include "sparseloom/Lower/Pipeline.h"
#include "sparseloom/Runtime/OpRegistry.h"
#include "sparseloom/Runtime/Runtime.hpp"

#include "gtest/gtest.h"

#include <memory>
#include <string>
#include <vector>

namespace sparseloom {
namespace testing {

inline std::unique_ptr<Module> parseOrDie(llvm::StringRef text) {
  auto module = parseModule(text, "test.slir");
  if (!module) {
    ADD_FAILURE() << llvm::toString(module.takeError());
    return nullptr;
  }
  return std::move(*module);
}

/// The error text of a failed Expected (empty on success, which fails).
template <typename T> std::string errorOf(llvm::Expected<T> result) {
  if (result) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return llvm::toString(result.takeError());
}

/// One float tensor input or output.
struct FloatTensor {
  std::vector<int64_t> dims;
  std::vector<float> values;
};

/// Runs `blob` once on `inputs` (float32 or int64 by the program's input
/// dtypes; int64 inputs take the values rounded) and returns its float
/// outputs; `loadFlags` are SL_LOAD_* flags (e.g. Reference kernels).
/// Failures are test failures.
inline std::vector<FloatTensor> runProgram(const std::vector<uint8_t> &blob,
                                           const std::vector<FloatTensor> &in,
                                           unsigned threads = 1,
                                           uint32_t loadFlags = 0) {
  using namespace runtime;
  std::vector<FloatTensor> out;
  Program program;
  OpResolver resolver;
  registerAllOps(resolver);
  const sl_load_options options{loadFlags, &resolver};
  Status s = Program::load(blob.data(), blob.size(), options, program);
  if (!s) {
    ADD_FAILURE() << "load: " << s.message();
    return out;
  }
  Session session;
  s = Session::create(program, session, {threads, 0});
  if (!s) {
    ADD_FAILURE() << "session: " << s.message();
    return out;
  }
  std::vector<std::vector<int64_t>> ints(in.size());
  std::vector<sl_tensor_view> views;
  for (size_t i = 0; i < in.size(); ++i) {
    sl_tensor_info info = program.inputInfo(i);
    sl_tensor_view v{};
    v.dtype = info.dtype;
    v.rank = uint32_t(in[i].dims.size());
    for (size_t d = 0; d < in[i].dims.size(); ++d)
      v.dims[d] = in[i].dims[d];
    if (info.dtype == SL_DTYPE_INT64) {
      for (float f : in[i].values)
        ints[i].push_back(int64_t(f));
      v.data = ints[i].data();
      v.bytes = ints[i].size() * sizeof(int64_t);
    } else {
      v.data = in[i].values.data();
      v.bytes = in[i].values.size() * sizeof(float);
    }
    views.push_back(v);
  }
  s = session.run(views);
  if (!s) {
    ADD_FAILURE() << "run: " << s.message();
    return out;
  }
  for (size_t i = 0; i < session.outputCount(); ++i) {
    sl_tensor_view v{};
    EXPECT_TRUE(session.output(i, v));
    FloatTensor t;
    t.dims.assign(v.dims, v.dims + v.rank);
    EXPECT_EQ(v.dtype, SL_DTYPE_FLOAT32);
    const float *p = static_cast<const float *>(v.data);
    t.values.assign(p, p + v.bytes / sizeof(float));
    out.push_back(std::move(t));
  }
  return out;
}

inline float maxAbsDiff(const std::vector<float> &a,
                        const std::vector<float> &b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0.0f;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

} // namespace testing
} // namespace sparseloom

#endif // SPARSELOOM_TEST_LOWER_LOWERTESTUTILS_H
