//===- BundleTestUtils.cpp - Real bundles for the bundle tests ------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Families are split with the same pipeline the zoo stitching test uses
// (align-family, detect-boundaries, check-compat, split) and lowered with
// the host driver's compileModule/compileSequence, so the programs are
// exactly what the compiler would hand the bundle writer.
//
//===----------------------------------------------------------------------===//

#include "BundleTestUtils.h"

#include "sparseloom/IR/Family.h"
#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/RunDriver/RunDriver.h"
#include "sparseloom/Runtime/OpRegistry.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "llvm/Support/Error.h"
#include "gtest/gtest.h"

#include <cstring>
#include <map>
#include <memory>

using namespace sparseloom;
using namespace sparseloom::bundletest;

namespace {

const std::string kZoo = std::string(SPARSELOOM_SOURCE_DIR) + "/examples/zoo";

llvm::Error splitFamily(Family &family, unsigned segments) {
  auto passes = createPassPipeline(
      "align-family,detect-boundaries(segments=" + std::to_string(segments) +
      "),check-compat,split");
  if (!passes)
    return passes.takeError();
  PassManager pm;
  for (auto &pass : *passes)
    pm.addPass(std::move(pass));
  return pm.run(family);
}

BundleContents::Tensor tensorFromInfo(const sl_tensor_info &info) {
  BundleContents::Tensor t;
  t.name = info.name;
  t.dtype = format::DType(info.dtype);
  t.dims.assign(info.dims, info.dims + info.rank);
  return t;
}

/// Compiles `f` or fails the current test (then `f` stays partial).
void compileFamily(CompiledFamily &f, unsigned segments, int64_t batch) {
  std::string dir = kZoo + "/" + f.task;
  Family family;
  family.task = f.task;
  for (const std::string &member : f.members) {
    std::string path = dir + "/" + f.task + "." + member + ".onnx";
    auto module = loadModel(path);
    ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
    family.members.push_back({member, path, std::move(*module)});
  }
  llvm::Error err = splitFamily(family, segments);
  ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));

  run::CompileSettings settings;
  const Module &first = *family.members[0].module;
  for (const std::string &input : first.graph.inputs) {
    std::vector<int64_t> dims;
    TensorType type = first.graph.getType(input);
    ASSERT_TRUE(type.hasRank()) << input;
    for (const Dim &d : *type.dims)
      dims.push_back(d.isKnown() ? d.size() : batch);
    settings.inputShapes[input] = dims;
  }
  const FamilySegments &split = *family.state.segments;
  for (size_t m = 0; m < family.members.size(); ++m) {
    auto whole = run::compileModule(*family.members[m].module,
                                    f.task + "." + f.members[m], settings);
    ASSERT_TRUE(bool(whole)) << llvm::toString(whole.takeError());
    f.whole.push_back(std::move(whole->blob));
    std::vector<const Module *> modules;
    std::vector<std::string> names;
    for (size_t s = 0; s < split.perMember[m].size(); ++s) {
      modules.push_back(split.perMember[m][s].get());
      names.push_back(f.task + "." + f.members[m] + ".seg" + std::to_string(s));
    }
    auto pieces = run::compileSequence(modules, names, settings);
    ASSERT_TRUE(bool(pieces)) << llvm::toString(pieces.takeError());
    f.segments.emplace_back();
    for (run::CompiledModel &piece : *pieces)
      f.segments.back().push_back(std::move(piece.blob));
  }

  runtime::Program program;
  runtime::Status s =
      runtime::Program::load(f.whole[0].data(), f.whole[0].size(), program);
  ASSERT_TRUE(s.ok()) << s.message();
  f.input = tensorFromInfo(program.inputInfo(0));
  f.output = tensorFromInfo(program.outputInfo(0));
  f.numClasses = uint32_t(f.output.dims.back());

  runtime::NpyArray all;
  std::string error;
  ASSERT_TRUE(runtime::readNpy(dir + "/test.inputs.npy", all, error)) << error;
  f.sample.dtype = all.dtype;
  f.sample.shape = all.shape;
  f.sample.shape[0] = batch;
  size_t rowBytes = all.data.size() / size_t(all.shape[0]);
  f.sample.data.assign(all.data.begin(),
                       all.data.begin() + rowBytes * size_t(batch));
}

} // namespace

const CompiledFamily &
sparseloom::bundletest::family(const std::string &task,
                               const std::vector<std::string> &members,
                               unsigned segments, int64_t batch) {
  static std::map<std::string, std::unique_ptr<CompiledFamily>> cache;
  std::string key =
      task + "/" + std::to_string(segments) + "/" + std::to_string(batch);
  for (const std::string &m : members)
    key += "/" + m;
  auto it = cache.find(key);
  if (it != cache.end())
    return *it->second;
  auto f = std::make_unique<CompiledFamily>();
  f->task = task;
  f->members = members;
  compileFamily(*f, segments, batch);
  return *cache.emplace(key, std::move(f)).first->second;
}

const CompiledFamily &sparseloom::bundletest::digits() {
  return family("digits", {"dense", "s90"}, 2, 4);
}

const CompiledFamily &sparseloom::bundletest::kws() {
  return family("kws", {"dense", "s80"}, 2, 2);
}

BundleContents::Processor sparseloom::bundletest::cpuProcessor() {
  BundleContents::Processor p;
  p.id = "cpu";
  p.kind = format::ProcessorKind::Cpu;
  p.threads = 2;
  p.denseGflops = 40;
  p.memoryGBps = 12;
  p.invocationOverheadMs = 0.01;
  p.memoryCapacityBytes = uint64_t(1) << 30;
  return p;
}

BundleContents::Task
sparseloom::bundletest::stitchedTask(const CompiledFamily &f,
                                     BundleContents &contents) {
  BundleContents::Task task;
  task.name = f.task;
  task.inputs = {f.input};
  task.outputs = {f.output};
  task.sourceVariants = f.members;
  task.latencyDeadlineMs = 5;
  task.accuracyFloor = 0.85;
  task.requestRateHz = 30;
  task.numClasses = f.numClasses;
  size_t k = f.members.size(),
         n = f.segments.empty() ? 0 : f.segments[0].size();
  uint32_t base = uint32_t(contents.programs.size());
  for (size_t m = 0; m < k; ++m)
    for (size_t s = 0; s < n; ++s)
      contents.programs.push_back(
          {f.task + "." + f.members[m] + ".seg" + std::to_string(s),
           f.segments[m][s]});
  size_t combos = 1;
  for (size_t s = 0; s < n; ++s)
    combos *= k;
  for (size_t c = 0; c < combos; ++c) {
    BundleContents::Variant v;
    v.id = uint32_t(c);
    size_t rest = c;
    for (size_t s = 0; s < n; ++s) {
      uint32_t member = uint32_t(rest % k);
      rest /= k;
      v.programs.push_back(base + uint32_t(member * n + s));
      v.sourceVariants.push_back(member);
      v.name += (s ? "+" : "") + f.members[member];
      v.memoryBytes += f.segments[member][s].size();
    }
    v.estimatedAccuracy = 0.9 - 0.8 * double(c) / double(combos);
    if (c % 2 == 0)
      v.measuredAccuracy = v.estimatedAccuracy - 0.005;
    v.latencyMs.assign(contents.processors.size(), 1.0 + double(c));
    task.variants.push_back(v);
  }
  return task;
}

BundleContents sparseloom::bundletest::stitchedContents(
    const std::vector<const CompiledFamily *> &fs) {
  BundleContents contents;
  contents.processors.push_back(cpuProcessor());
  for (const CompiledFamily *f : fs)
    contents.tasks.push_back(stitchedTask(*f, contents));
  return contents;
}

AlignedBytes::AlignedBytes(const std::vector<uint8_t> &bytes)
    : blocks_((bytes.size() + 63) / 64 + 1), size_(bytes.size()) {
  if (!bytes.empty())
    std::memcpy(data(), bytes.data(), bytes.size());
}

std::vector<runtime::NpyArray> sparseloom::bundletest::runStandalone(
    const std::vector<const std::vector<uint8_t> *> &blobs,
    const runtime::NpyArray &input) {
  std::vector<std::string> sources(blobs.size(), "standalone");
  auto sequence = run::ProgramSequence::loadBlobs(blobs, sources, {});
  std::vector<runtime::NpyArray> outputs;
  EXPECT_TRUE(bool(sequence)) << llvm::toString(sequence.takeError());
  if (!sequence)
    return outputs;
  llvm::Error err = (*sequence)->run({&input});
  EXPECT_FALSE(bool(err)) << llvm::toString(std::move(err));
  for (size_t i = 0; i < (*sequence)->numOutputs(); ++i)
    outputs.push_back((*sequence)->output(i));
  return outputs;
}

std::vector<runtime::NpyArray>
sparseloom::bundletest::runVariant(const runtime::Bundle &bundle, size_t task,
                                   size_t variant,
                                   const runtime::NpyArray &input) {
  std::vector<runtime::NpyArray> outputs;
  runtime::Session session;
  runtime::Status s = bundle.createSession(task, variant, session);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s)
    return outputs;
  sl_tensor_view view = input.view();
  s = session.run(&view, 1);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s)
    return outputs;
  for (size_t i = 0; i < session.outputCount(); ++i) {
    sl_tensor_view out{};
    session.output(i, out);
    outputs.push_back(runtime::NpyArray::fromView(out));
  }
  return outputs;
}

void sparseloom::bundletest::fixChecksums(std::vector<uint8_t> &bytes) {
  using namespace format;
  if (bytes.size() < sizeof(BundleHeader))
    return;
  BundleHeader h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  if (h.headerSize < sizeof(BundleHeader) || h.headerSize > bytes.size() ||
      h.numSections > kBundleMaxSections ||
      h.headerSize + uint64_t(h.numSections) * sizeof(BundleSection) >
          bytes.size())
    return;
  for (uint32_t i = 0; i < h.numSections; ++i) {
    BundleSection s;
    uint8_t *at = bytes.data() + h.headerSize + i * sizeof(BundleSection);
    std::memcpy(&s, at, sizeof(s));
    if (s.offset <= bytes.size() && s.size <= bytes.size() - s.offset) {
      s.crc32 = runtime::crc32(bytes.data() + s.offset, s.size);
      std::memcpy(at, &s, sizeof(s));
    }
  }
  constexpr size_t kField = offsetof(BundleHeader, metaCrc32);
  uint32_t crc = runtime::crc32(bytes.data(), kField);
  crc =
      runtime::crc32(bytes.data() + kField + 4, h.headerSize - kField - 4, crc);
  crc = runtime::crc32(bytes.data() + h.headerSize,
                       h.numSections * sizeof(BundleSection), crc);
  h.metaCrc32 = crc;
  std::memcpy(bytes.data(), &h, sizeof(h));
}

void sparseloom::bundletest::fixProgramChecksum(std::vector<uint8_t> &bytes,
                                                uint64_t offset) {
  using namespace format;
  if (offset > bytes.size() || bytes.size() - offset < sizeof(ProgramHeader))
    return;
  ProgramHeader h;
  std::memcpy(&h, bytes.data() + offset, sizeof(h));
  if (h.headerSize > h.totalSize || h.totalSize > bytes.size() - offset)
    return;
  h.bodyCrc32 = runtime::crc32(bytes.data() + offset + h.headerSize,
                               h.totalSize - h.headerSize);
  std::memcpy(bytes.data() + offset, &h, sizeof(h));
}
