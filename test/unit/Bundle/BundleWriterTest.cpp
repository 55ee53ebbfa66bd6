//===- BundleWriterTest.cpp - Writing bundles and running them ------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Bundles built from real zoo families: every stitched variant run through a
// bundle session gives outputs bit-identical to its standalone programs;
// identical tensors and programs are stored once (the statistics and the
// file size both show it); the same contents give the same bytes; files and
// C arrays hold exactly those bytes; the writer refuses malformed contents
// naming the entry at fault.
//
//===----------------------------------------------------------------------===//

#include "BundleTestUtils.h"

#include "sparseloom/Runtime/MappedFile.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "gtest/gtest.h"

#include <cstring>
#include <fstream>
#include <sstream>

using namespace sparseloom;
using namespace sparseloom::bundletest;

namespace {

std::vector<uint8_t> build(const BundleContents &contents,
                           BundleStats *stats = nullptr,
                           BundleWriteOptions options = {}) {
  auto bytes = buildBundle(contents, options, stats);
  EXPECT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
  return bytes ? std::move(*bytes) : std::vector<uint8_t>();
}

std::string buildError(const BundleContents &contents) {
  auto bytes = buildBundle(contents);
  if (bytes)
    return "";
  return llvm::toString(bytes.takeError());
}

bool sameOutputs(const std::vector<runtime::NpyArray> &a,
                 const std::vector<runtime::NpyArray> &b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].dtype != b[i].dtype || a[i].shape != b[i].shape ||
        a[i].data != b[i].data)
      return false;
  return true;
}

/// The standalone blobs of variant `v` of `task` in `contents`.
std::vector<const std::vector<uint8_t> *>
standaloneBlobs(const BundleContents &contents, size_t task, size_t v) {
  std::vector<const std::vector<uint8_t> *> blobs;
  for (uint32_t p : contents.tasks[task].variants[v].programs)
    blobs.push_back(&contents.programs[p].blob);
  return blobs;
}

class BundleWriterTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(digits().whole.size(), digits().members.size());
    ASSERT_EQ(kws().whole.size(), kws().members.size());
  }
};

// Every variant of two tasks, run through the bundle, equals its standalone
// programs bit for bit; different variants give different outputs (so the
// comparison can fail).
TEST_F(BundleWriterTest, VariantsRunBitIdenticalToStandalonePrograms) {
  BundleContents contents = stitchedContents({&digits(), &kws()});
  std::vector<uint8_t> bytes = build(contents);
  AlignedBytes aligned(bytes);
  runtime::Bundle bundle;
  runtime::Status s =
      runtime::Bundle::open(aligned.data(), aligned.size(), bundle);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(bundle.taskCount(), 2u);
  EXPECT_EQ(bundle.programCount(), 8u); // 2 tasks x 2 members x 2 segments

  const CompiledFamily *families[] = {&digits(), &kws()};
  for (size_t t = 0; t < 2; ++t) {
    ASSERT_EQ(bundle.variantCount(t), 4u);
    std::vector<std::vector<runtime::NpyArray>> seen;
    for (size_t v = 0; v < 4; ++v) {
      auto expected =
          runStandalone(standaloneBlobs(contents, t, v), families[t]->sample);
      auto got = runVariant(bundle, t, v, families[t]->sample);
      ASSERT_FALSE(got.empty());
      EXPECT_TRUE(sameOutputs(expected, got))
          << "task " << t << " variant " << v << " differs";
      seen.push_back(got);
    }
    EXPECT_FALSE(sameOutputs(seen.front(), seen.back()))
        << "dense+dense and the sparsest stitch agree: the check is blind";
  }
}

// A whole-model variant next to the stitched ones shares every weight with
// the segments of the same member: its tensors are stored once, which the
// statistics report and the file size proves (against a build without
// dedup).
TEST_F(BundleWriterTest, SharedLayersAreStoredOnce) {
  const CompiledFamily &f = digits();
  BundleContents base = stitchedContents({&f});
  BundleContents withWhole = base;
  BundleContents::Variant whole;
  whole.id = 100;
  whole.name = "dense-whole";
  whole.programs = {uint32_t(withWhole.programs.size())};
  whole.sourceVariants = {0};
  whole.estimatedAccuracy = 0.95;
  whole.latencyMs = {1.5};
  withWhole.programs.push_back({"digits.dense.whole", f.whole[0]});
  withWhole.tasks[0].variants.push_back(whole);

  BundleStats baseStats, stats, plainStats;
  std::vector<uint8_t> baseBytes = build(base, &baseStats);
  std::vector<uint8_t> bytes = build(withWhole, &stats);
  BundleWriteOptions noDedup;
  noDedup.dedup = false;
  std::vector<uint8_t> plain = build(withWhole, &plainStats, noDedup);

  // The whole model adds weight descriptors but no new tensor bytes.
  EXPECT_GT(stats.total.weightTensorsBefore,
            baseStats.total.weightTensorsBefore);
  EXPECT_EQ(stats.total.weightTensorsAfter, baseStats.total.weightTensorsAfter);
  EXPECT_EQ(stats.total.weightBytesAfter, baseStats.total.weightBytesAfter);
  EXPECT_EQ(stats.tensorDataBytes, baseStats.tensorDataBytes);
  uint64_t wholeWeights =
      stats.total.weightBytesBefore - baseStats.total.weightBytesBefore;
  EXPECT_GT(wholeWeights, 0u);
  // The file grew by the program without its weights only...
  EXPECT_LT(bytes.size() - baseBytes.size(), f.whole[0].size());
  EXPECT_LT(bytes.size() - baseBytes.size() + wholeWeights,
            f.whole[0].size() + 1024);
  // ...and storing every copy costs at least the shared weights again.
  EXPECT_EQ(plainStats.total.weightTensorsAfter,
            plainStats.total.weightTensorsBefore);
  EXPECT_GE(plain.size(), bytes.size() + wholeWeights);
  EXPECT_EQ(stats.fileBytes, bytes.size());

  // The runtime sees one pooled tensor used by two programs.
  AlignedBytes aligned(bytes);
  runtime::Bundle bundle;
  ASSERT_TRUE(runtime::Bundle::open(aligned.data(), aligned.size(), bundle));
  std::vector<uint32_t> users(bundle.info().tensor_count, 0);
  for (size_t p = 0; p < bundle.programCount(); ++p)
    for (size_t k = 0; k < bundle.programInfo(p).tensor_count; ++k) {
      size_t t = 0;
      ASSERT_EQ(sl_bundle_program_tensor(bundle.get(), p, k, &t), SL_OK);
      ++users[t];
    }
  size_t shared = 0;
  for (uint32_t u : users)
    shared += u == 2;
  EXPECT_EQ(shared, bundle.programInfo(bundle.programCount() - 1).tensor_count)
      << "every tensor of the whole model is shared with a segment";
  // And it still computes what the standalone program computes.
  size_t last = bundle.variantCount(0) - 1;
  EXPECT_TRUE(sameOutputs(runStandalone({&f.whole[0]}, f.sample),
                          runVariant(bundle, 0, last, f.sample)));

  std::string summary;
  llvm::raw_string_ostream os(summary);
  printBundleStats(os, stats);
  EXPECT_NE(os.str().find("digits"), std::string::npos);
  std::printf("%s", os.str().c_str());
  std::printf("digits bundle: %zu bytes with dedup, %zu without\n",
              bytes.size(), plain.size());
}

// Two input programs with the same bytes become one stored program, and the
// variants that use either run it.
TEST_F(BundleWriterTest, IdenticalProgramsAreStoredOnce) {
  const CompiledFamily &f = digits();
  BundleContents contents = stitchedContents({&f});
  // A copy of dense.seg0 under another input index, used by a new variant.
  uint32_t copy = uint32_t(contents.programs.size());
  contents.programs.push_back({"copy-of-seg0", contents.programs[0].blob});
  BundleContents::Variant v = contents.tasks[0].variants[0];
  v.id = 77;
  v.name = "copy";
  v.programs[0] = copy;
  contents.tasks[0].variants.push_back(v);

  BundleStats stats;
  std::vector<uint8_t> bytes = build(contents, &stats);
  EXPECT_EQ(stats.total.programsBefore, 5u);
  EXPECT_EQ(stats.total.programsAfter, 4u);
  EXPECT_EQ(stats.tasks.size(), 1u);
  EXPECT_EQ(stats.tasks[0].second.programsAfter, 4u);
  AlignedBytes aligned(bytes);
  runtime::Bundle bundle;
  ASSERT_TRUE(runtime::Bundle::open(aligned.data(), aligned.size(), bundle));
  EXPECT_EQ(bundle.programCount(), 4u);
  size_t last = bundle.variantCount(0) - 1;
  EXPECT_EQ(bundle.variantPrograms(0, 0), bundle.variantPrograms(0, last));
}

// Same contents, same bytes: nothing depends on addresses, time or
// hash-map order.
TEST_F(BundleWriterTest, OutputIsDeterministic) {
  BundleContents contents = stitchedContents({&digits(), &kws()});
  std::vector<uint8_t> a = build(contents);
  BundleContents copy = contents;
  std::vector<uint8_t> b = build(copy);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size() % 64, 0u);
}

// What statistics count per task: the programs its variants use.
TEST_F(BundleWriterTest, StatisticsPerTaskAndTotal) {
  BundleContents contents = stitchedContents({&digits(), &kws()});
  BundleStats stats;
  std::vector<uint8_t> bytes = build(contents, &stats);
  ASSERT_EQ(stats.tasks.size(), 2u);
  EXPECT_EQ(stats.tasks[0].first, "digits");
  EXPECT_EQ(stats.tasks[1].first, "kws");
  uint64_t before = 0, weightBytes = 0;
  for (const auto &[name, s] : stats.tasks) {
    EXPECT_EQ(s.programsBefore, 4u) << name;
    EXPECT_EQ(s.programsAfter, 4u) << name;
    EXPECT_LE(s.weightBytesAfter, s.weightBytesBefore) << name;
    EXPECT_LT(s.programBytesAfter, s.programBytesBefore) << name;
    before += s.programBytesBefore;
    weightBytes += s.weightBytesBefore;
  }
  EXPECT_EQ(stats.total.programBytesBefore, before);
  EXPECT_EQ(stats.total.weightBytesBefore, weightBytes);
  uint64_t standalone = 0;
  for (const BundleContents::Program &p : contents.programs)
    standalone += p.blob.size();
  EXPECT_EQ(stats.total.programBytesBefore, standalone);
  EXPECT_EQ(stats.fileBytes, bytes.size());
  EXPECT_LE(stats.tensorDataBytes + stats.programDataBytes, bytes.size());
}

// The file written atomically holds the bytes, maps at an aligned address
// and opens; a missing file is an error naming it.
TEST_F(BundleWriterTest, WritesAndMapsFiles) {
  std::vector<uint8_t> bytes = build(stitchedContents({&digits()}));
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("bundle-test", dir));
  std::string path = (dir + "/app.loom").str();
  llvm::Error err = writeBundleFile(path, bytes);
  ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));

  runtime::MappedFile file;
  std::string error;
  ASSERT_TRUE(runtime::MappedFile::open(path, file, error)) << error;
  ASSERT_EQ(file.size(), bytes.size());
  EXPECT_EQ(std::memcmp(file.data(), bytes.data(), bytes.size()), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(file.data()) % 64, 0u);
  runtime::Bundle bundle;
  runtime::Status s = runtime::Bundle::open(file.data(), file.size(), bundle);
  EXPECT_TRUE(s.ok()) << s.message();

  runtime::MappedFile missing;
  EXPECT_FALSE(runtime::MappedFile::open(path + ".nope", missing, error));
  EXPECT_NE(error.find("app.loom.nope: cannot open"), std::string::npos)
      << error;
  llvm::sys::fs::remove_directories(dir);
}

// The C array holds exactly the bundle's bytes, aligned, with a header
// declaring it; a bad symbol name is refused.
TEST_F(BundleWriterTest, EmbedsAsC) {
  std::vector<uint8_t> bytes = build(stitchedContents({&digits()}));
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("bundle-c", dir));
  std::string c = (dir + "/app_loom.c").str(), h = (dir + "/app_loom.h").str();
  llvm::Error err = writeBundleAsC(bytes, "app_loom", c, h);
  ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));

  std::ifstream hs(h), cs(c);
  std::stringstream header, source;
  header << hs.rdbuf();
  source << cs.rdbuf();
  EXPECT_NE(header.str().find("extern const unsigned char app_loom[];"),
            std::string::npos);
  EXPECT_NE(header.str().find("extern const size_t app_loom_size;"),
            std::string::npos);
  std::string text = source.str();
  EXPECT_NE(text.find("#include \"app_loom.h\""), std::string::npos);
  EXPECT_NE(text.find("_Alignas(64)"), std::string::npos);
  EXPECT_NE(text.find("app_loom_size = " + std::to_string(bytes.size())),
            std::string::npos);
  // Parse the initializer back.
  size_t open = text.find("= {"), close = text.find("};", open);
  ASSERT_NE(open, std::string::npos);
  std::vector<uint8_t> parsed;
  for (size_t at = text.find("0x", open); at != std::string::npos && at < close;
       at = text.find("0x", at + 2))
    parsed.push_back(uint8_t(std::stoul(text.substr(at + 2, 2), nullptr, 16)));
  EXPECT_EQ(parsed, bytes);

  llvm::Error bad = writeBundleAsC(bytes, "9lives", c, h);
  ASSERT_TRUE(bool(bad));
  EXPECT_NE(llvm::toString(std::move(bad)).find("not a C identifier"),
            std::string::npos);
  llvm::sys::fs::remove_directories(dir);
}

// Malformed contents are refused with the entry named.
TEST_F(BundleWriterTest, RefusesMalformedContents) {
  BundleContents good = stitchedContents({&digits()});
  ASSERT_EQ(buildError(good), "");

  BundleContents c = good;
  c.tasks[0].variants[1].programs[0] = 99;
  EXPECT_NE(
      buildError(c).find("variant 1 '" + c.tasks[0].variants[1].name + "'"),
      std::string::npos)
      << buildError(c);
  EXPECT_NE(buildError(c).find("names program 99"), std::string::npos);

  c = good;
  c.tasks[0].variants[0].latencyMs.push_back(1);
  EXPECT_NE(buildError(c).find("2 latencies for 1 processors"),
            std::string::npos)
      << buildError(c);

  c = good;
  c.tasks[0].variants[2].estimatedAccuracy = std::nan("");
  EXPECT_NE(buildError(c).find("estimated accuracy"), std::string::npos);

  c = good;
  c.tasks[0].variants[2].latencyMs[0] = -1;
  EXPECT_NE(buildError(c).find("latency on processor 'cpu'"),
            std::string::npos);

  c = good;
  c.programs.push_back(c.programs[0]);
  c.programs.back().name = "orphan";
  EXPECT_NE(buildError(c).find("program 4 'orphan' is used by no variant"),
            std::string::npos)
      << buildError(c);

  c = good;
  c.programs[1].blob[c.programs[1].blob.size() / 2] ^= 0x40;
  EXPECT_NE(buildError(c).find("checksum mismatch"), std::string::npos)
      << buildError(c);

  c = good;
  c.programs[1].blob.resize(100);
  EXPECT_NE(buildError(c).find("smaller than a program header"),
            std::string::npos);

  c = good;
  c.tasks.push_back(c.tasks[0]);
  EXPECT_NE(buildError(c).find("task 'digits': name is not unique"),
            std::string::npos);

  c = good;
  c.tasks[0].variants[3].id = c.tasks[0].variants[0].id;
  EXPECT_NE(buildError(c).find("is not unique within the task"),
            std::string::npos);

  c = good;
  c.processors[0].denseGflops = 0;
  EXPECT_NE(buildError(c).find("processor 'cpu'"), std::string::npos);

  // Segments in the wrong order do not chain: the runtime's verifier says
  // so through the writer.
  c = good;
  std::swap(c.tasks[0].variants[0].programs[0],
            c.tasks[0].variants[0].programs[1]);
  std::string chain = buildError(c);
  EXPECT_NE(chain.find("the runtime rejects the bundle"), std::string::npos)
      << chain;
  EXPECT_NE(chain.find("variant 0 'dense+dense' of task 0 'digits'"),
            std::string::npos)
      << chain;

  // A bundled program is not a standalone one.
  c = good;
  std::vector<uint8_t> bytes = build(good);
  AlignedBytes aligned(bytes);
  runtime::Bundle bundle;
  ASSERT_TRUE(runtime::Bundle::open(aligned.data(), aligned.size(), bundle));
  sl_bundle_program_info info = bundle.programInfo(0);
  const uint8_t *programData = nullptr;
  for (size_t i = 0; i < bundle.info().section_count; ++i) {
    sl_bundle_section_info s{};
    sl_bundle_section_info_at(bundle.get(), i, &s);
    if (std::string(s.kind_name) == "program-data")
      programData = aligned.data() + s.offset;
  }
  ASSERT_NE(programData, nullptr);
  c.programs[0].blob.assign(programData + info.offset,
                            programData + info.offset + info.bytes);
  EXPECT_NE(buildError(c).find("is not a standalone program"),
            std::string::npos);
}

} // namespace
