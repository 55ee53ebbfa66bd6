//===- BundleCorruptionTest.cpp - Damaged bundles are errors, not crashes -===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A real bundle (the digits stitched task), damaged in every way we can
// think of: truncated at every 64 bytes of its header and tables and at a
// spread through the file; every bit of the header and section table
// flipped; bits flipped in every section, in the padding between sections
// and in the programs; and then the same flips with every checksum repaired,
// so they reach the checks behind the checksums (those may open when the
// flip is harmless; they must never crash, and when one opens its variants
// must still run). Finally one targeted edit per check the verifier makes,
// each expecting its status and message. The bytes are copied into a buffer
// of exactly the given size, so the sanitizer build catches any read past
// it.
//
//===----------------------------------------------------------------------===//

#include "BundleTestUtils.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <new>

using namespace sparseloom;
using namespace sparseloom::bundletest;
using namespace sparseloom::format;

namespace {

const std::vector<uint8_t> &pristine() {
  static const std::vector<uint8_t> bytes = [] {
    auto built = buildBundle(stitchedContents({&digits()}));
    EXPECT_TRUE(bool(built)) << llvm::toString(built.takeError());
    return built ? std::move(*built) : std::vector<uint8_t>();
  }();
  return bytes;
}

struct Opened {
  sl_status status = SL_OK;
  std::string message;
  bool ranVariants = true;
};

/// Opens the first `size` bytes of `bytes` from a 64-byte aligned buffer of
/// exactly that size; when it opens, runs every variant once.
Opened open(const std::vector<uint8_t> &bytes, size_t size) {
  struct Free {
    void operator()(uint8_t *p) const {
      ::operator delete(p, std::align_val_t(64));
    }
  };
  std::unique_ptr<uint8_t, Free> buffer(static_cast<uint8_t *>(
      ::operator new(size ? size : 1, std::align_val_t(64))));
  std::memcpy(buffer.get(), bytes.data(), size);
  Opened result;
  sl_bundle *bundle = nullptr;
  result.status = sl_bundle_open(buffer.get(), size, nullptr, &bundle);
  if (result.status != SL_OK) {
    result.message = sl_last_error_message();
    return result;
  }
  // Whatever opens must be safe to run.
  size_t tasks = 0;
  sl_bundle_task_count(bundle, &tasks);
  for (size_t t = 0; t < tasks; ++t) {
    sl_task_info task{};
    sl_bundle_task_info(bundle, t, &task);
    for (size_t v = 0; v < task.variant_count; ++v) {
      sl_session *session = nullptr;
      if (sl_bundle_session_create(bundle, t, v, nullptr, nullptr, &session) !=
          SL_OK) {
        result.ranVariants = false;
        continue;
      }
      sl_tensor_info in{};
      sl_session_input_info(session, 0, &in);
      std::vector<uint8_t> data(in.bytes, 0);
      sl_tensor_view view{};
      view.dtype = in.dtype;
      view.rank = in.rank;
      std::memcpy(view.dims, in.dims, sizeof(view.dims));
      view.data = data.data();
      view.bytes = data.size();
      if (sl_session_run(session, &view, 1, nullptr, 0) != SL_OK)
        result.ranVariants = false;
      sl_session_destroy(session);
    }
  }
  sl_bundle_destroy(bundle);
  return result;
}

Opened open(const std::vector<uint8_t> &bytes) {
  return open(bytes, bytes.size());
}

template <typename T> T get(const std::vector<uint8_t> &b, uint64_t offset) {
  T value;
  std::memcpy(&value, b.data() + offset, sizeof(value));
  return value;
}

template <typename T>
void put(std::vector<uint8_t> &b, uint64_t offset, const T &value) {
  std::memcpy(b.data() + offset, &value, sizeof(value));
}

BundleHeader header(const std::vector<uint8_t> &b) {
  return get<BundleHeader>(b, 0);
}

uint64_t sectionEntryAt(size_t index) {
  return sizeof(BundleHeader) + index * sizeof(BundleSection);
}

/// The table index of the section of `kind`.
size_t sectionIndex(const std::vector<uint8_t> &b, SectionKind kind) {
  for (size_t i = 0; i < header(b).numSections; ++i)
    if (get<BundleSection>(b, sectionEntryAt(i)).kind == uint32_t(kind))
      return i;
  ADD_FAILURE() << "no section of kind " << uint32_t(kind);
  return 0;
}

BundleSection section(const std::vector<uint8_t> &b, SectionKind kind) {
  return get<BundleSection>(b, sectionEntryAt(sectionIndex(b, kind)));
}

void editSection(std::vector<uint8_t> &b, SectionKind kind,
                 const std::function<void(BundleSection &)> &edit) {
  uint64_t at = sectionEntryAt(sectionIndex(b, kind));
  BundleSection s = get<BundleSection>(b, at);
  edit(s);
  put(b, at, s);
}

template <typename T>
void editEntry(std::vector<uint8_t> &b, SectionKind kind, size_t index,
               const std::function<void(T &)> &edit) {
  uint64_t at = section(b, kind).offset + index * sizeof(T);
  T entry = get<T>(b, at);
  edit(entry);
  put(b, at, entry);
}

void editHeader(std::vector<uint8_t> &b,
                const std::function<void(BundleHeader &)> &edit) {
  BundleHeader h = header(b);
  edit(h);
  put(b, 0, h);
}

uint64_t tableEnd(const std::vector<uint8_t> &b) {
  return sectionEntryAt(header(b).numSections);
}

/// Absolute offset of stored program `index`.
uint64_t programAt(const std::vector<uint8_t> &b, size_t index) {
  BundleSection data = section(b, SectionKind::ProgramData);
  BundleProgram entry =
      get<BundleProgram>(b, section(b, SectionKind::Programs).offset +
                                index * sizeof(BundleProgram));
  return data.offset + entry.offset;
}

class BundleCorruptionTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_FALSE(pristine().empty()); }
};

// The pristine bundle opens and runs (the control for everything below).
TEST_F(BundleCorruptionTest, PristineOpens) {
  Opened o = open(pristine());
  EXPECT_EQ(o.status, SL_OK) << o.message;
  EXPECT_TRUE(o.ranVariants);
}

// Truncated anywhere: an error with a message.
TEST_F(BundleCorruptionTest, TruncationsAreErrors) {
  const std::vector<uint8_t> &b = pristine();
  std::vector<size_t> sizes;
  for (size_t size = 0; size <= tableEnd(b) + 64; size += 64)
    sizes.push_back(size);
  for (size_t i = 1; i < 64; ++i)
    sizes.push_back(b.size() * i / 64);
  sizes.push_back(b.size() - 64);
  sizes.push_back(b.size() - 1);
  sizes.push_back(7);
  for (size_t size : sizes) {
    Opened o = open(b, size);
    EXPECT_NE(o.status, SL_OK) << "truncated to " << size;
    EXPECT_FALSE(o.message.empty()) << "truncated to " << size;
  }
  EXPECT_NE(open(b, 100).message.find("truncated"), std::string::npos);
  EXPECT_NE(open(b, b.size() - 64).message.find("truncated"),
            std::string::npos);
}

// Every single-bit flip in the header and the section table is caught.
TEST_F(BundleCorruptionTest, EveryHeaderAndTableBitFlipIsAnError) {
  const std::vector<uint8_t> &pristineBytes = pristine();
  std::vector<uint8_t> b = pristineBytes;
  size_t caught = 0, flips = 0;
  for (uint64_t at = 0; at < tableEnd(pristineBytes); ++at)
    for (int bit = 0; bit < 8; ++bit) {
      b[at] ^= uint8_t(1 << bit);
      Opened o = open(b);
      ++flips;
      caught += o.status != SL_OK && !o.message.empty();
      EXPECT_NE(o.status, SL_OK) << "byte " << at << " bit " << bit;
      b[at] = pristineBytes[at];
    }
  EXPECT_EQ(caught, flips);
}

// Flips anywhere in a section, and in the zero padding between and after
// sections, are caught.
TEST_F(BundleCorruptionTest, FlipsInSectionsAndPaddingAreErrors) {
  const std::vector<uint8_t> &pristineBytes = pristine();
  std::vector<uint8_t> b = pristineBytes;
  uint64_t previousEnd = tableEnd(b);
  for (size_t i = 0; i < header(b).numSections; ++i) {
    BundleSection s = get<BundleSection>(b, sectionEntryAt(i));
    // The padding before this section.
    for (uint64_t at = previousEnd; at < s.offset; at += 7) {
      b[at] = 1;
      Opened o = open(b);
      EXPECT_NE(o.message.find("is not zero"), std::string::npos)
          << "padding byte " << at << ": " << o.message;
      b[at] = 0;
    }
    previousEnd = s.offset + s.size;
    for (uint64_t k = 0; k < 48 && s.size; ++k) {
      uint64_t at = s.offset + s.size * k / 48;
      b[at] ^= uint8_t(1 << (k % 8));
      Opened o = open(b);
      EXPECT_NE(o.message.find("checksum mismatch"), std::string::npos)
          << "section " << i << " byte " << at << ": " << o.message;
      b[at] = pristineBytes[at];
    }
  }
  ASSERT_LT(previousEnd, b.size()) << "the test wants a padded last section";
  b.back() = 0x80;
  EXPECT_NE(open(b).message.find("after the last section"), std::string::npos);
}

// With the checksums repaired, a flip in any table reaches the checks
// behind them: it is rejected with a message or is harmless, never a crash;
// what opens still runs.
TEST_F(BundleCorruptionTest, FlipsBehindTheChecksumsNeverCrash) {
  const std::vector<uint8_t> &pristineBytes = pristine();
  SectionKind tables[] = {SectionKind::Strings,     SectionKind::Tensors,
                          SectionKind::Programs,    SectionKind::ProgramTensors,
                          SectionKind::Processors,  SectionKind::Tasks,
                          SectionKind::TaskTensors, SectionKind::SourceVariants,
                          SectionKind::Variants,    SectionKind::Segments,
                          SectionKind::Latencies};
  size_t rejected = 0, opened = 0;
  auto tryFlip = [&](uint64_t at, int bit, uint64_t programOffset) {
    std::vector<uint8_t> b = pristineBytes;
    b[at] ^= uint8_t(1 << bit);
    if (programOffset)
      fixProgramChecksum(b, programOffset);
    fixChecksums(b);
    Opened o = open(b);
    if (o.status != SL_OK) {
      ++rejected;
      EXPECT_FALSE(o.message.empty()) << "byte " << at;
    } else {
      ++opened;
      EXPECT_TRUE(o.ranVariants) << "byte " << at << " opened but a variant "
                                 << "failed to run";
    }
  };
  // Header fields other than the checksum itself.
  for (uint64_t at = 0; at < sizeof(BundleHeader); ++at)
    if (at < 16 || at >= 20)
      tryFlip(at, int(at % 8), 0);
  for (uint64_t at = sizeof(BundleHeader); at < tableEnd(pristineBytes); ++at)
    if ((at - sizeof(BundleHeader)) % sizeof(BundleSection) < 32)
      tryFlip(at, int(at % 8), 0);
  for (SectionKind kind : tables) {
    BundleSection s = section(pristineBytes, kind);
    for (uint64_t at = s.offset; at < s.offset + s.size; ++at)
      tryFlip(at, int(at % 8), 0);
  }
  // Program headers and tables (the programs hold no weights), every third
  // byte, with the program's own checksum repaired too.
  BundleSection programs = section(pristineBytes, SectionKind::Programs);
  for (uint64_t p = 0; p < programs.count; ++p) {
    uint64_t base = programAt(pristineBytes, p);
    BundleProgram entry = get<BundleProgram>(
        pristineBytes, programs.offset + p * sizeof(BundleProgram));
    for (uint64_t at = base; at < base + entry.size; at += 3)
      if (at - base < 36 || at - base >= 40) // not the body CRC itself
        tryFlip(at, int(at % 8), base);
  }
  // Weight bytes: the content hash catches every change.
  BundleSection data = section(pristineBytes, SectionKind::TensorData);
  for (uint64_t k = 0; k < 64; ++k) {
    std::vector<uint8_t> b = pristineBytes;
    uint64_t at = data.offset + data.size * k / 64;
    b[at] ^= 0x10;
    fixChecksums(b);
    Opened o = open(b);
    if (o.status == SL_OK)
      continue; // landed in padding between tensors: zero is not checked
    EXPECT_NE(o.message.find("content hash"), std::string::npos) << o.message;
  }
  std::printf("flips behind the checksums: %zu rejected, %zu harmless\n",
              rejected, opened);
  EXPECT_GT(rejected, opened);
}

struct Case {
  const char *name;
  std::function<void(std::vector<uint8_t> &)> edit;
  sl_status status;
  const char *message; // a substring of the error
};

// One targeted edit per check, checksums repaired: the status and message
// name what is wrong.
TEST_F(BundleCorruptionTest, EachCheckNamesWhatIsWrong) {
  const double nan = std::nan("");
  std::vector<Case> cases = {
      {"magic", [](auto &b) { b[0] = 'X'; }, SL_ERROR_INVALID_BUNDLE,
       "not a SparseLoom bundle"},
      {"major version",
       [](auto &b) { editHeader(b, [](auto &h) { h.versionMajor = 2; }); },
       SL_ERROR_UNSUPPORTED, "bundle format version 2.0"},
      {"flags", [](auto &b) { editHeader(b, [](auto &h) { h.flags = 4; }); },
       SL_ERROR_UNSUPPORTED, "bundle flags 0x4"},
      {"header size",
       [](auto &b) { editHeader(b, [](auto &h) { h.headerSize = 48; }); },
       SL_ERROR_INVALID_BUNDLE, "header size 48 is invalid"},
      {"no sections",
       [](auto &b) { editHeader(b, [](auto &h) { h.numSections = 0; }); },
       SL_ERROR_INVALID_BUNDLE, "0 sections"},
      {"section entry size",
       [](auto &b) { editHeader(b, [](auto &h) { h.sectionEntrySize = 48; }); },
       SL_ERROR_INVALID_BUNDLE, "section table entries are 48 bytes"},
      {"table offset",
       [](auto &b) {
         editHeader(b, [](auto &h) { h.sectionTableOffset = 128; });
       },
       SL_ERROR_INVALID_BUNDLE, "not right after"},
      {"total size unaligned",
       [](auto &b) { editHeader(b, [](auto &h) { h.totalSize -= 1; }); },
       SL_ERROR_INVALID_BUNDLE, "must be a multiple of 64"},
      {"total size too large",
       [](auto &b) { editHeader(b, [](auto &h) { h.totalSize += 64; }); },
       SL_ERROR_INVALID_BUNDLE, "truncated"},
      {"section outside the file",
       [](auto &b) {
         editSection(b, SectionKind::Latencies,
                     [&](auto &s) { s.offset = b.size() + 640; });
       },
       SL_ERROR_INVALID_BUNDLE, "section 12 (latencies)"},
      {"section unaligned",
       [](auto &b) {
         editSection(b, SectionKind::Programs, [](auto &s) { s.offset += 8; });
       },
       SL_ERROR_INVALID_BUNDLE, "must be 64-byte aligned"},
      {"sections overlap",
       [](auto &b) {
         uint64_t first = section(b, SectionKind::Strings).offset;
         editSection(b, SectionKind::Tensors,
                     [&](auto &s) { s.offset = first; });
       },
       SL_ERROR_INVALID_BUNDLE, "start after the previous section"},
      {"section size",
       [](auto &b) {
         editSection(b, SectionKind::Tensors, [](auto &s) { s.count += 1; });
       },
       SL_ERROR_INVALID_BUNDLE, "entries of 96 bytes"},
      {"duplicate kind",
       [](auto &b) {
         editSection(b, SectionKind::SourceVariants, [](auto &s) {
           s.kind = uint32_t(SectionKind::ProgramTensors);
         });
       },
       SL_ERROR_INVALID_BUNDLE, "a second program-tensors section"},
      {"missing kind",
       [](auto &b) {
         editSection(b, SectionKind::Latencies, [](auto &s) { s.kind = 99; });
       },
       SL_ERROR_INVALID_BUNDLE, "has no latencies section"},
      {"entry size of a kind",
       [](auto &b) {
         editSection(b, SectionKind::Tasks,
                     [](auto &s) { s.kind = uint32_t(SectionKind::Variants); });
       },
       SL_ERROR_INVALID_BUNDLE, "entries are 72 bytes, expected 56"},
      {"latency count",
       [](auto &b) {
         editSection(b, SectionKind::Latencies, [&](auto &s) {
           s.count -= 1;
           s.size -= 8;
           // The dropped entry becomes padding, which must be zero.
           std::memset(b.data() + s.offset + s.size, 0, 8);
         });
       },
       SL_ERROR_INVALID_BUNDLE, "latency table has 3 entries"},
      {"strings unterminated",
       [](auto &b) {
         BundleSection s = section(b, SectionKind::Strings);
         b[s.offset + s.size - 1] = 'x';
       },
       SL_ERROR_INVALID_BUNDLE, "end with a NUL byte"},
      {"tensor unaligned",
       [](auto &b) {
         editEntry<BundleTensor>(b, SectionKind::Tensors, 1,
                                 [](auto &t) { t.offset += 4; });
       },
       SL_ERROR_INVALID_BUNDLE, "tensor 1: ["},
      {"tensor out of order",
       [](auto &b) {
         uint64_t first =
             get<BundleTensor>(b, section(b, SectionKind::Tensors).offset)
                 .offset;
         editEntry<BundleTensor>(b, SectionKind::Tensors, 1,
                                 [&](auto &t) { t.offset = first; });
       },
       SL_ERROR_INVALID_BUNDLE, "sorted by offset"},
      {"tensor outside the data",
       [](auto &b) {
         editEntry<BundleTensor>(b, SectionKind::Tensors, 0,
                                 [](auto &t) { t.bytes = uint64_t(1) << 40; });
       },
       SL_ERROR_INVALID_BUNDLE, "inside the"},
      {"tensor hash",
       [](auto &b) {
         editEntry<BundleTensor>(b, SectionKind::Tensors, 0,
                                 [](auto &t) { t.contentHash ^= 1; });
       },
       SL_ERROR_INVALID_BUNDLE, "tensor 0: content hash"},
      {"tensor dtype",
       [](auto &b) {
         editEntry<BundleTensor>(b, SectionKind::Tensors, 0,
                                 [](auto &t) { t.dtype = DType(42); });
       },
       SL_ERROR_INVALID_BUNDLE, "unknown dtype 42"},
      {"tensor encoding",
       [](auto &b) {
         editEntry<BundleTensor>(b, SectionKind::Tensors, 0,
                                 [](auto &t) { t.encoding = Encoding(9); });
       },
       SL_ERROR_INVALID_BUNDLE, "unknown encoding 9"},
      {"tensor rank",
       [](auto &b) {
         editEntry<BundleTensor>(b, SectionKind::Tensors, 0,
                                 [](auto &t) { t.rank = 9; });
       },
       SL_ERROR_INVALID_BUNDLE, "rank 9 exceeds 8"},
      {"tensor negative dim",
       [](auto &b) {
         editEntry<BundleTensor>(b, SectionKind::Tensors, 0,
                                 [](auto &t) { t.dims[0] = -3; });
       },
       SL_ERROR_INVALID_BUNDLE, "dim 0 is negative"},
      {"program unaligned",
       [](auto &b) {
         editEntry<BundleProgram>(b, SectionKind::Programs, 1,
                                  [](auto &p) { p.offset += 8; });
       },
       SL_ERROR_INVALID_BUNDLE, "program 1: ["},
      {"program size",
       [](auto &b) {
         editEntry<BundleProgram>(b, SectionKind::Programs, 0,
                                  [](auto &p) { p.size -= 64; });
       },
       SL_ERROR_INVALID_BUNDLE, "the table says"},
      {"program tensor list out of range",
       [](auto &b) {
         editEntry<BundleProgram>(b, SectionKind::Programs, 0,
                                  [](auto &p) { p.firstTensor = 100000; });
       },
       SL_ERROR_INVALID_BUNDLE, "tensor list [100000"},
      {"program tensor index",
       [](auto &b) {
         editEntry<uint32_t>(b, SectionKind::ProgramTensors, 0,
                             [](auto &t) { t = 100000; });
       },
       SL_ERROR_INVALID_BUNDLE, "names tensor 100000"},
      {"program tensor order",
       [](auto &b) {
         uint32_t first =
             get<uint32_t>(b, section(b, SectionKind::ProgramTensors).offset);
         editEntry<uint32_t>(b, SectionKind::ProgramTensors, 1,
                             [&](auto &t) { t = first; });
       },
       SL_ERROR_INVALID_BUNDLE, "strictly ascending"},
      {"program lists a tensor too few",
       [](auto &b) {
         editEntry<BundleProgram>(b, SectionKind::Programs, 0,
                                  [](auto &p) { p.numTensors -= 1; });
       },
       SL_ERROR_INVALID_PROGRAM, "is not the start of any of the"},
      {"program lists a tensor it does not use",
       [](auto &b) {
         // Program 1 also claims program 0's first tensor.
         BundleProgram p0 =
             get<BundleProgram>(b, section(b, SectionKind::Programs).offset);
         BundleProgram p1 =
             get<BundleProgram>(b, section(b, SectionKind::Programs).offset +
                                       sizeof(BundleProgram));
         ASSERT_EQ(p1.firstTensor, p0.firstTensor + p0.numTensors);
         editEntry<BundleProgram>(b, SectionKind::Programs, 1, [](auto &p) {
           p.firstTensor -= 1;
           p.numTensors += 1;
         });
       },
       SL_ERROR_INVALID_PROGRAM, "but no weight of the program uses it"},
      {"program not marked external",
       [](auto &b) {
         uint64_t at = programAt(b, 0);
         ProgramHeader h = get<ProgramHeader>(b, at);
         h.flags = 0;
         put(b, at, h);
         fixProgramChecksum(b, at);
       },
       SL_ERROR_INVALID_PROGRAM, "must be marked as having external weights"},
      {"program unknown flag",
       [](auto &b) {
         uint64_t at = programAt(b, 0);
         ProgramHeader h = get<ProgramHeader>(b, at);
         h.flags |= 0x10;
         put(b, at, h);
         fixProgramChecksum(b, at);
       },
       SL_ERROR_UNSUPPORTED, "program flags 0x11"},
      {"program weight differs from its pooled tensor",
       [](auto &b) {
         uint64_t at = programAt(b, 0);
         ProgramHeader h = get<ProgramHeader>(b, at);
         for (uint32_t i = 0; i < h.numTensors; ++i) {
           uint64_t d = at + h.tensorsOffset + i * sizeof(TensorDesc);
           TensorDesc t = get<TensorDesc>(b, d);
           if (t.kind != TensorKind::Weight)
             continue;
           t.dims[0] += 1;
           put(b, d, t);
           break;
         }
         fixProgramChecksum(b, at);
       },
       SL_ERROR_INVALID_PROGRAM, "does not match bundle tensor"},
      {"program body", [](auto &b) { b[programAt(b, 1) + 300] ^= 1; },
       SL_ERROR_INVALID_PROGRAM, "program 1: checksum mismatch"},
      {"processor threads",
       [](auto &b) {
         editEntry<BundleProcessor>(b, SectionKind::Processors, 0,
                                    [](auto &p) { p.threads = 0; });
       },
       SL_ERROR_INVALID_BUNDLE, "processor 0 'cpu': 0 threads"},
      {"processor kind",
       [](auto &b) {
         editEntry<BundleProcessor>(b, SectionKind::Processors, 0,
                                    [](auto &p) { p.kind = ProcessorKind(7); });
       },
       SL_ERROR_INVALID_BUNDLE, "unknown kind 7"},
      {"processor figures",
       [nan](auto &b) {
         editEntry<BundleProcessor>(b, SectionKind::Processors, 0,
                                    [nan](auto &p) { p.memoryGBps = nan; });
       },
       SL_ERROR_INVALID_BUNDLE, "cost figures"},
      {"processor id",
       [](auto &b) {
         editEntry<BundleProcessor>(b, SectionKind::Processors, 0,
                                    [](auto &p) { p.idOffset = 1u << 30; });
       },
       SL_ERROR_INVALID_BUNDLE, "processor 0: string offset"},
      {"task name",
       [](auto &b) {
         editEntry<BundleTask>(b, SectionKind::Tasks, 0,
                               [](auto &t) { t.nameOffset = 1u << 30; });
       },
       SL_ERROR_INVALID_BUNDLE, "task 0: string offset"},
      {"task variant range",
       [](auto &b) {
         editEntry<BundleTask>(b, SectionKind::Tasks, 0,
                               [](auto &t) { t.firstVariant = 1000; });
       },
       SL_ERROR_INVALID_BUNDLE, "variants [1000, +4)"},
      {"task without variants",
       [](auto &b) {
         editEntry<BundleTask>(b, SectionKind::Tasks, 0,
                               [](auto &t) { t.numVariants = 0; });
       },
       SL_ERROR_INVALID_BUNDLE, "must be at least one"},
      {"task io range",
       [](auto &b) {
         editEntry<BundleTask>(b, SectionKind::Tasks, 0,
                               [](auto &t) { t.firstTensor = 500; });
       },
       SL_ERROR_INVALID_BUNDLE, "inputs and outputs [500"},
      {"task sources range",
       [](auto &b) {
         editEntry<BundleTask>(b, SectionKind::Tasks, 0,
                               [](auto &t) { t.numSources = 3; });
       },
       SL_ERROR_INVALID_BUNDLE, "source variants [0, +3)"},
      {"task deadline",
       [](auto &b) {
         editEntry<BundleTask>(b, SectionKind::Tasks, 0,
                               [](auto &t) { t.latencyDeadlineMs = -1; });
       },
       SL_ERROR_INVALID_BUNDLE, "deadline -1 ms"},
      {"task floor",
       [](auto &b) {
         editEntry<BundleTask>(b, SectionKind::Tasks, 0,
                               [](auto &t) { t.accuracyFloor = 2; });
       },
       SL_ERROR_INVALID_BUNDLE, "accuracy floor 2"},
      {"task rate",
       [](auto &b) {
         editEntry<BundleTask>(b, SectionKind::Tasks, 0,
                               [](auto &t) { t.requestRateHz = INFINITY; });
       },
       SL_ERROR_INVALID_BUNDLE, "request rate"},
      {"task tensor dtype",
       [](auto &b) {
         editEntry<BundleTaskTensor>(b, SectionKind::TaskTensors, 0,
                                     [](auto &t) { t.dtype = DType(5); });
       },
       SL_ERROR_INVALID_BUNDLE, "unknown dtype 5"},
      {"task input shape",
       [](auto &b) {
         editEntry<BundleTaskTensor>(b, SectionKind::TaskTensors, 0,
                                     [](auto &t) { t.dims[0] += 1; });
       },
       SL_ERROR_INVALID_BUNDLE, "differs from the task's input"},
      {"source variant name",
       [](auto &b) {
         editEntry<uint32_t>(b, SectionKind::SourceVariants, 1,
                             [](auto &s) { s = 1u << 30; });
       },
       SL_ERROR_INVALID_BUNDLE, "source variant 1: string offset"},
      {"variant names a missing task",
       [](auto &b) {
         editEntry<BundleVariant>(b, SectionKind::Variants, 1,
                                  [](auto &v) { v.task = 5; });
       },
       SL_ERROR_INVALID_BUNDLE, "variant 1 names task 5"},
      {"variant segments range",
       [](auto &b) {
         editEntry<BundleVariant>(b, SectionKind::Variants, 0,
                                  [](auto &v) { v.firstSegment = 1000; });
       },
       SL_ERROR_INVALID_BUNDLE, "segments [1000, +2)"},
      {"variant points to a missing program",
       [](auto &b) {
         editEntry<BundleSegment>(b, SectionKind::Segments, 0,
                                  [](auto &s) { s.program = 4; });
       },
       SL_ERROR_INVALID_BUNDLE, "segment 0: program 4 does not exist"},
      {"variant source variant",
       [](auto &b) {
         editEntry<BundleSegment>(b, SectionKind::Segments, 3,
                                  [](auto &s) { s.sourceVariant = 7; });
       },
       SL_ERROR_INVALID_BUNDLE, "segment 1: source variant 7"},
      {"variant programs do not chain",
       [](auto &b) {
         editEntry<BundleSegment>(b, SectionKind::Segments, 1,
                                  [](auto &s) { s.program = 0; });
       },
       SL_ERROR_INVALID_BUNDLE, "variant 0 'dense+dense' of task 0 'digits'"},
      {"variant duplicate id",
       [](auto &b) {
         editEntry<BundleVariant>(b, SectionKind::Variants, 2,
                                  [](auto &v) { v.id = 0; });
       },
       SL_ERROR_INVALID_BUNDLE, "id 0 is also the id of variant 0"},
      {"variant accuracy",
       [](auto &b) {
         editEntry<BundleVariant>(b, SectionKind::Variants, 0,
                                  [](auto &v) { v.estimatedAccuracy = 1.5; });
       },
       SL_ERROR_INVALID_BUNDLE, "estimated accuracy 1.5"},
      {"variant measured accuracy",
       [](auto &b) {
         editEntry<BundleVariant>(b, SectionKind::Variants, 0,
                                  [](auto &v) { v.measuredAccuracy = -1; });
       },
       SL_ERROR_INVALID_BUNDLE, "measured accuracy -1"},
      {"variant name",
       [](auto &b) {
         editEntry<BundleVariant>(b, SectionKind::Variants, 3,
                                  [](auto &v) { v.nameOffset = 1u << 30; });
       },
       SL_ERROR_INVALID_BUNDLE, "variant 3: string offset"},
      {"latency NaN",
       [nan](auto &b) {
         editEntry<double>(b, SectionKind::Latencies, 2,
                           [nan](auto &l) { l = nan; });
       },
       SL_ERROR_INVALID_BUNDLE, "latency nan ms on processor 0"},
      {"latency negative",
       [](auto &b) {
         editEntry<double>(b, SectionKind::Latencies, 2,
                           [](auto &l) { l = -INFINITY; });
       },
       SL_ERROR_INVALID_BUNDLE, "variant 2"},
  };
  for (const Case &c : cases) {
    std::vector<uint8_t> b = pristine();
    c.edit(b);
    if (std::string(c.name) != "magic")
      fixChecksums(b);
    Opened o = open(b);
    EXPECT_EQ(o.status, c.status) << c.name << ": " << o.message;
    EXPECT_NE(o.message.find(c.message), std::string::npos)
        << c.name << ": expected \"" << c.message << "\" in \"" << o.message
        << "\"";
  }
}

// A newer minor version opens (it may only add what this reader skips); a
// program handed over as a bundle is named as such; bad arguments.
TEST_F(BundleCorruptionTest, VersionsAndArguments) {
  std::vector<uint8_t> b = pristine();
  editHeader(b, [](auto &h) { h.versionMinor = 9; });
  fixChecksums(b);
  EXPECT_EQ(open(b).status, SL_OK) << open(b).message;

  // A section of a kind this reader does not know (as a newer minor version
  // may add) is checked, then skipped. 13 entries end at byte 584 and the
  // first section starts at 640, so a 14th entry fits in place; the new
  // section goes at the end of the file.
  std::vector<uint8_t> extra = pristine();
  ASSERT_LE(sectionEntryAt(14), section(extra, SectionKind::Strings).offset);
  BundleSection unknown{};
  unknown.kind = 99;
  unknown.entrySize = 1;
  unknown.offset = extra.size();
  unknown.size = unknown.count = 64;
  extra.resize(extra.size() + 64, 0xab);
  put(extra, sectionEntryAt(13), unknown);
  editHeader(extra, [&](auto &h) {
    h.numSections = 14;
    h.totalSize = extra.size();
  });
  fixChecksums(extra);
  Opened withExtra = open(extra);
  EXPECT_EQ(withExtra.status, SL_OK) << withExtra.message;
  extra.back() ^= 1; // its checksum is still checked
  EXPECT_NE(open(extra).message.find("section 13 (unknown kind): checksum"),
            std::string::npos)
      << open(extra).message;

  Opened program = open(digits().whole[0]);
  EXPECT_NE(program.message.find("this is a program, not a bundle"),
            std::string::npos)
      << program.message;

  AlignedBytes aligned(pristine());
  sl_bundle *bundle = nullptr;
  EXPECT_EQ(sl_bundle_open(aligned.data() + 8, pristine().size() - 8, nullptr,
                           &bundle),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sl_last_error_message()).find("64-byte aligned"),
            std::string::npos);
  EXPECT_EQ(sl_bundle_open(nullptr, 100, nullptr, &bundle),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_bundle_open(aligned.data(), aligned.size(), nullptr, nullptr),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(bundle, nullptr);
}

} // namespace
