//===- DumpDriver.cpp - sparseloom-dump's text output ---------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Maps the file, opens it with the runtime's verifier and prints what the
// runtime's query API reports: nothing here parses the format itself, so the
// dump cannot disagree with what a device reads. The text is stable (fixed
// column formats, no addresses or times) so lit tests can check it;
// DumpJson.cpp prints the same facts as JSON.
//
//===----------------------------------------------------------------------===//

#include "DumpInternal.h"

#include "sparseloom/Runtime/MappedFile.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/Format.h"

#include <cmath>

using namespace sparseloom;
using runtime::Bundle;

std::string sparseloom::dump::describeTensor(const sl_tensor_info &info) {
  return describeShape(info.dtype, info.rank, info.dims);
}

std::string sparseloom::dump::describeShape(sl_dtype dtype, uint32_t rank,
                                            const int64_t *dims) {
  std::string s = sl_dtype_name(dtype);
  s += "[";
  for (uint32_t d = 0; d < rank && d < SL_MAX_RANK; ++d)
    s += (d ? "," : "") + std::to_string(dims[d]);
  return s + "]";
}

std::vector<uint32_t> sparseloom::dump::tensorUsers(const Bundle &bundle) {
  std::vector<uint32_t> users(bundle.info().tensor_count, 0);
  for (size_t p = 0; p < bundle.programCount(); ++p) {
    sl_bundle_program_info info = bundle.programInfo(p);
    for (size_t k = 0; k < info.tensor_count; ++k) {
      size_t t = 0;
      sl_bundle_program_tensor(bundle.get(), p, k, &t);
      ++users[t];
    }
  }
  return users;
}

namespace {

std::string latencyText(double ms) {
  if (std::isinf(ms))
    return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3f", ms);
  return buffer;
}

std::string accuracyText(double accuracy) {
  if (std::isnan(accuracy))
    return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.4f", accuracy);
  return buffer;
}

void printOverview(const Bundle &bundle, const std::string &path,
                   llvm::raw_ostream &os) {
  sl_bundle_info info = bundle.info();
  std::vector<uint32_t> users = dump::tensorUsers(bundle);
  size_t shared = 0;
  for (uint32_t u : users)
    shared += u > 1;
  os << "bundle " << path << ": format " << info.version_major << "."
     << info.version_minor << ", " << info.total_bytes << " bytes, "
     << info.section_count << " sections, checksums ok\n";
  os << "tensors: " << info.tensor_count << " (" << info.tensor_bytes
     << " bytes of tensor data; " << shared
     << " used by more than one program)\n";
  os << "programs: " << info.program_count << " (" << info.program_bytes
     << " bytes of program data)\n";
  os << "tasks: " << info.task_count << ", variants: " << info.variant_count
     << ", processors: " << info.processor_count << "\n";
}

void printProcessors(const Bundle &bundle, llvm::raw_ostream &os) {
  os << "\nprocessors:\n";
  for (size_t p = 0; p < bundle.processorCount(); ++p) {
    sl_processor_info info = bundle.processorInfo(p);
    os << llvm::format("  %zu %-12s %-3s %2u threads  %8.2f GFLOP/s  %7.2f "
                       "GB/s  overhead %.3f ms  memory %llu bytes\n",
                       p, info.id, info.kind_name, info.threads,
                       info.dense_gflops, info.memory_gbps,
                       info.invocation_overhead_ms,
                       (unsigned long long)info.memory_capacity_bytes);
  }
}

void printTasks(const Bundle &bundle, llvm::raw_ostream &os) {
  os << "\ntasks:\n";
  for (size_t t = 0; t < bundle.taskCount(); ++t) {
    sl_task_info info = bundle.taskInfo(t);
    os << "  " << t << " '" << info.name << "': " << info.variant_count
       << " variants, " << info.class_count << " classes, SLO deadline "
       << (std::isinf(info.latency_deadline_ms)
               ? std::string("none")
               : latencyText(info.latency_deadline_ms) + " ms")
       << ", accuracy floor " << accuracyText(info.accuracy_floor) << ", "
       << llvm::format("%.2f", info.request_rate_hz) << " requests/s\n";
    for (size_t i = 0; i < info.input_count; ++i) {
      sl_tensor_info in{};
      sl_bundle_task_input(bundle.get(), t, i, &in);
      os << "    input  '" << in.name << "' " << dump::describeTensor(in)
         << "\n";
    }
    for (size_t i = 0; i < info.output_count; ++i) {
      sl_tensor_info out{};
      sl_bundle_task_output(bundle.get(), t, i, &out);
      os << "    output '" << out.name << "' " << dump::describeTensor(out)
         << "\n";
    }
    os << "    source variants:";
    for (size_t s = 0; s < info.source_variant_count; ++s) {
      const char *name = "";
      sl_bundle_task_source_variant(bundle.get(), t, s, &name);
      os << " " << s << "=" << name;
    }
    os << "\n";
  }
}

void printPrograms(const Bundle &bundle, llvm::raw_ostream &os) {
  os << "\nprograms:\n";
  for (size_t p = 0; p < bundle.programCount(); ++p) {
    sl_bundle_program_info info = bundle.programInfo(p);
    os << llvm::format("  %zu %-28s %8llu bytes  %3zu ops  %3zu tensors  "
                       "%9llu weight bytes\n",
                       p, sl_program_name(info.program),
                       (unsigned long long)info.bytes,
                       sl_program_op_count(info.program), info.tensor_count,
                       (unsigned long long)info.weight_bytes);
  }
}

void printVariants(const Bundle &bundle, llvm::raw_ostream &os) {
  size_t processors = bundle.processorCount();
  for (size_t t = 0; t < bundle.taskCount(); ++t) {
    sl_task_info task = bundle.taskInfo(t);
    os << "\nvariants of task " << t << " '" << task.name << "' (latency ms on";
    for (size_t p = 0; p < processors; ++p)
      os << " " << bundle.processorInfo(p).id;
    os << "; segments as program(source variant)):\n";
    for (size_t v = 0; v < task.variant_count; ++v) {
      sl_variant_info info = bundle.variantInfo(t, v);
      os << llvm::format("  %zu id %u %-24s est %s meas %s mem %llu lat", v,
                         info.id, info.name,
                         accuracyText(info.estimated_accuracy).c_str(),
                         accuracyText(info.measured_accuracy).c_str(),
                         (unsigned long long)info.memory_bytes);
      for (size_t p = 0; p < processors; ++p)
        os << " " << latencyText(bundle.latencyMs(t, v, p));
      os << " seg";
      for (size_t s = 0; s < info.segment_count; ++s) {
        size_t program = 0, source = 0;
        sl_bundle_variant_segment(bundle.get(), t, v, s, &program, &source);
        const char *sourceName = "";
        sl_bundle_task_source_variant(bundle.get(), t, source, &sourceName);
        os << " " << program << "(" << sourceName << ")";
      }
      os << "\n";
    }
  }
}

void printSections(const Bundle &bundle, llvm::raw_ostream &os) {
  os << "\nsections:\n";
  for (size_t i = 0; i < bundle.info().section_count; ++i) {
    sl_bundle_section_info s{};
    sl_bundle_section_info_at(bundle.get(), i, &s);
    os << llvm::format("  %2zu %-16s offset %9llu  bytes %9llu  entries "
                       "%7llu  crc32 %08x\n",
                       i, s.kind_name, (unsigned long long)s.offset,
                       (unsigned long long)s.bytes, (unsigned long long)s.count,
                       s.crc32);
  }
}

void printTensors(const Bundle &bundle, llvm::raw_ostream &os) {
  std::vector<uint32_t> users = dump::tensorUsers(bundle);
  os << "\ntensors:\n";
  for (size_t i = 0; i < users.size(); ++i) {
    sl_bundle_tensor_info t{};
    sl_bundle_tensor_info_at(bundle.get(), i, &t);
    os << llvm::format("  %3zu offset %9llu  bytes %8llu  %-12s %-22s hash "
                       "%016llx  programs %u\n",
                       i, (unsigned long long)t.offset,
                       (unsigned long long)t.bytes, t.encoding,
                       dump::describeShape(t.dtype, t.rank, t.dims).c_str(),
                       (unsigned long long)t.content_hash, users[i]);
  }
}

} // namespace

llvm::Error sparseloom::dumpBundle(const DumpRequest &request,
                                   llvm::raw_ostream &out) {
  runtime::MappedFile file;
  std::string error;
  if (!runtime::MappedFile::open(request.path, file, error))
    return makeError(error);
  Bundle bundle;
  runtime::Status status = Bundle::open(file.data(), file.size(), bundle);
  if (!status)
    return withFile(makeError(status.message()), request.path);

  bool any = request.sections || request.variants || request.tensors;
  if (request.json) {
    dump::printJson(bundle, request, out);
    return llvm::Error::success();
  }
  if (!any) {
    printOverview(bundle, request.path, out);
    printProcessors(bundle, out);
    printTasks(bundle, out);
    printPrograms(bundle, out);
    printVariants(bundle, out);
    return llvm::Error::success();
  }
  printOverview(bundle, request.path, out);
  if (request.sections)
    printSections(bundle, out);
  if (request.variants)
    printVariants(bundle, out);
  if (request.tensors)
    printTensors(bundle, out);
  return llvm::Error::success();
}
