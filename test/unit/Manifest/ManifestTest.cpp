//===- ManifestTest.cpp - Parsing and checking manifests ------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The shipped example must parse with every path resolved to an existing
// file; each error the parser promises (docs/Manifest.md) must name the file
// and the field; memory sizes must convert exactly; relative paths must
// resolve against the manifest's directory whatever the current directory.
// Error cases run on a scratch directory of empty placeholder files: the
// parser only checks that files exist, it loads none.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Tool/Manifest.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>

using namespace sparseloom;
using nlohmann::json;

namespace {

bool isFile(const std::string &path) {
  return llvm::sys::fs::is_regular_file(path);
}

uint64_t fileSize(const std::string &path) {
  uint64_t size = 0;
  EXPECT_FALSE(llvm::sys::fs::file_size(path, size)) << path;
  return size;
}

/// A scratch directory, removed at the end of the test.
class ScratchDir {
public:
  ScratchDir() {
    EXPECT_FALSE(
        llvm::sys::fs::createUniqueDirectory("sparseloom-manifest", path_));
  }
  ~ScratchDir() { llvm::sys::fs::remove_directories(path_); }
  std::string path(llvm::StringRef relative = "") const {
    llvm::SmallString<256> full(path_);
    if (!relative.empty())
      llvm::sys::path::append(full, relative);
    return std::string(full.str());
  }
  /// Writes `contents` to `relative`, creating its directory.
  void write(llvm::StringRef relative, llvm::StringRef contents = "") const {
    std::string full = path(relative);
    ASSERT_FALSE(
        llvm::sys::fs::create_directories(llvm::sys::path::parent_path(full)));
    std::error_code ec;
    llvm::raw_fd_ostream os(full, ec);
    ASSERT_FALSE(ec) << full;
    os << contents;
  }

private:
  llvm::SmallString<256> path_;
};

/// Changes the current directory for one scope.
class CurrentDir {
public:
  explicit CurrentDir(const std::string &dir) {
    EXPECT_FALSE(llvm::sys::fs::current_path(saved_));
    EXPECT_FALSE(llvm::sys::fs::set_current_path(dir)) << dir;
  }
  ~CurrentDir() { llvm::sys::fs::set_current_path(saved_); }

private:
  llvm::SmallString<256> saved_;
};

/// A valid two-task manifest over placeholder files in a scratch directory:
/// app/m.json refers to ../models/... and ../platform.json. The tests parse
/// its text as if it were app/m.json, which must exist as a directory entry
/// for "app/.." to resolve.
class ManifestErrors : public ::testing::Test {
protected:
  void SetUp() override {
    for (const char *file :
         {"models/a.dense.onnx", "models/a.s90.onnx", "models/b.onnx",
          "models/a.calib.npy", "models/a.labels.npy", "models/b.calib.npy",
          "platform.json", "app/m.json"})
      dir_.write(file);
    manifest_ = json::parse(R"({
      "platform": "../platform.json",
      "memory_budget": "1 MiB",
      "tasks": [
        {"name": "a",
         "variants": ["../models/a.dense.onnx", "../models/a.s90.onnx"],
         "calibration": {"inputs": "../models/a.calib.npy",
                         "labels": "../models/a.labels.npy"},
         "slo": {"latency_ms": 2, "accuracy": 0.9},
         "request_rate_hz": 10},
        {"name": "b",
         "variants": ["../models/b.onnx"],
         "calibration": {"inputs": "../models/b.calib.npy"},
         "slo": {"latency_ms": 5, "accuracy": 0.5},
         "request_rate_hz": 1}
      ]
    })");
  }

  std::string file() const { return dir_.path("app/m.json"); }

  llvm::Expected<Manifest> parse(const std::string &text) const {
    return parseManifest(text, file());
  }

  /// The error after `edit` changes the valid manifest; "" when it parses.
  std::string errorAfter(const std::function<void(json &)> &edit) const {
    json changed = manifest_;
    edit(changed);
    auto manifest = parse(changed.dump(2));
    if (manifest)
      return "";
    return llvm::toString(manifest.takeError());
  }

  /// Checks that the error names the file, then contains `expected`.
  void expectError(const std::function<void(json &)> &edit,
                   const std::string &expected) const {
    std::string err = errorAfter(edit);
    ASSERT_FALSE(err.empty()) << "no error; expected: " << expected;
    EXPECT_EQ(err.rfind(file() + ": ", 0), 0u) << err;
    EXPECT_NE(err.find(expected), std::string::npos)
        << "expected '" << expected << "' in: " << err;
  }

  ScratchDir dir_;
  json manifest_;
};

} // namespace

//===----------------------------------------------------------------------===//
// The shipped example
//===----------------------------------------------------------------------===//

// examples/edge-app/models.json parses, every path resolves to a file, the
// dense model comes first, and the budget sits where docs/Manifest.md says:
// above one (dense) variant per task, below all variants stored separately.
TEST(Manifest, ShippedExample) {
  std::string path =
      std::string(SPARSELOOM_SOURCE_DIR) + "/examples/edge-app/models.json";
  auto manifest = loadManifest(path);
  ASSERT_TRUE(bool(manifest)) << llvm::toString(manifest.takeError());
  ASSERT_EQ(manifest->tasks.size(), 4u);
  const char *names[] = {"digits", "glyphs", "kws", "lang"};
  EXPECT_TRUE(isFile(manifest->platform)) << manifest->platform;
  EXPECT_EQ(llvm::sys::path::filename(manifest->platform), "host.json");
  uint64_t denseBytes = 0, allBytes = 0;
  for (size_t t = 0; t < 4; ++t) {
    const ManifestTask &task = manifest->tasks[t];
    EXPECT_EQ(task.name, names[t]);
    ASSERT_GE(task.variants.size(), 2u) << task.name;
    ASSERT_EQ(task.variantNames.size(), task.variants.size());
    EXPECT_EQ(task.variantNames.front(), "dense") << task.name;
    for (size_t v = 0; v < task.variants.size(); ++v) {
      EXPECT_TRUE(isFile(task.variants[v])) << task.variants[v];
      allBytes += fileSize(task.variants[v]);
    }
    denseBytes += fileSize(task.variants.front());
    EXPECT_TRUE(isFile(task.calibration.inputs)) << task.calibration.inputs;
    EXPECT_TRUE(isFile(task.calibration.labels)) << task.calibration.labels;
    ASSERT_TRUE(task.test.has_value()) << task.name;
    EXPECT_TRUE(isFile(task.test->inputs)) << task.test->inputs;
    EXPECT_TRUE(isFile(task.test->labels)) << task.test->labels;
    EXPECT_GT(task.slo.latencyMs, 0);
    EXPECT_GT(task.slo.accuracy, 0.5);
    EXPECT_LT(task.slo.accuracy, 1);
    EXPECT_GT(task.requestRateHz, 0);
    EXPECT_NE(manifest->findTask(names[t]), nullptr);
  }
  EXPECT_EQ(manifest->findTask("nope"), nullptr);
  EXPECT_GT(manifest->memoryBudgetBytes, denseBytes);
  EXPECT_LT(manifest->memoryBudgetBytes, allBytes);
}

//===----------------------------------------------------------------------===//
// Fields, defaults, names
//===----------------------------------------------------------------------===//

// The valid base manifest: values, resolved paths, defaults, variant names.
TEST_F(ManifestErrors, BaseParsesWithDefaults) {
  auto manifest = parse(manifest_.dump());
  ASSERT_TRUE(bool(manifest)) << llvm::toString(manifest.takeError());
  EXPECT_EQ(manifest->file, file());
  EXPECT_EQ(manifest->dir, dir_.path("app"));
  EXPECT_EQ(manifest->memoryBudgetBytes, 1048576u);
  ASSERT_EQ(manifest->tasks.size(), 2u);
  const ManifestTask &a = manifest->tasks[0];
  EXPECT_EQ(a.variants[1], dir_.path("app/../models/a.s90.onnx"));
  EXPECT_EQ(a.variantNames, (std::vector<std::string>{"dense", "s90"}));
  EXPECT_EQ(a.calibration.labels, dir_.path("app/../models/a.labels.npy"));
  EXPECT_FALSE(a.test.has_value());
  EXPECT_FALSE(a.segments.has_value());
  EXPECT_DOUBLE_EQ(a.slo.latencyMs, 2);
  EXPECT_DOUBLE_EQ(a.slo.accuracy, 0.9);
  EXPECT_DOUBLE_EQ(a.requestRateHz, 10);
  // No labels: the field stays empty. A file not named <task>.X: its stem.
  EXPECT_EQ(manifest->tasks[1].calibration.labels, "");
  EXPECT_EQ(manifest->tasks[1].variantNames[0], "b");
  EXPECT_EQ(manifest->platform, dir_.path("app/../platform.json"));
  const ManifestOptions defaults;
  EXPECT_EQ(manifest->options.segments, 4u);
  EXPECT_EQ(manifest->options.maxLiveTensors, defaults.maxLiveTensors);
  EXPECT_EQ(manifest->options.threads, 2u);
  EXPECT_FALSE(manifest->options.exhaustive);
  EXPECT_EQ(manifest->options.exhaustiveLimit, 4096u);
  EXPECT_EQ(manifest->options.frontResolution, 0.0);
  EXPECT_EQ(manifest->options.sloGrid, 16u);
  EXPECT_EQ(manifest->options.maxVariantsPerTask, 0u);
}

// Every option and the optional task fields are read, not just accepted.
TEST_F(ManifestErrors, OptionsAndOptionalFields) {
  json m = manifest_;
  m["description"] = "two tasks";
  m["options"] = {{"segments", 3},          {"max_live_tensors", 2},
                  {"threads", 1},           {"exhaustive", true},
                  {"exhaustive_limit", 99}, {"front_resolution", 0.01},
                  {"slo_grid", 8},          {"max_variants_per_task", 5}};
  m["tasks"][0]["segments"] = 64;
  m["tasks"][0]["test"] = {{"inputs", "../models/a.calib.npy"}};
  auto manifest = parse(m.dump());
  ASSERT_TRUE(bool(manifest)) << llvm::toString(manifest.takeError());
  EXPECT_EQ(manifest->description, "two tasks");
  const ManifestOptions &o = manifest->options;
  EXPECT_EQ(o.segments, 3u);
  EXPECT_EQ(o.maxLiveTensors, 2u);
  EXPECT_EQ(o.threads, 1u);
  EXPECT_TRUE(o.exhaustive);
  EXPECT_EQ(o.exhaustiveLimit, 99u);
  EXPECT_DOUBLE_EQ(o.frontResolution, 0.01);
  EXPECT_EQ(o.sloGrid, 8u);
  EXPECT_EQ(o.maxVariantsPerTask, 5u);
  EXPECT_EQ(manifest->tasks[0].segments, std::optional<unsigned>(64));
  EXPECT_FALSE(manifest->tasks[1].segments.has_value());
  ASSERT_TRUE(manifest->tasks[0].test.has_value());
  EXPECT_EQ(manifest->tasks[0].test->inputs,
            dir_.path("app/../models/a.calib.npy"));
}

// "<task>.<variant>.EXT" gives "<variant>" for every model extension; other
// names give their stem (dots included).
TEST_F(ManifestErrors, VariantNames) {
  for (const char *file : {"models/a.x.onnxtext", "models/a.y.slir",
                           "models/net.dense.s50.onnx", "models/a.onnx"})
    dir_.write(file);
  json m = manifest_;
  m["tasks"][0]["variants"] = {"../models/a.x.onnxtext", "../models/a.y.slir",
                               "../models/net.dense.s50.onnx",
                               "../models/a.onnx"};
  auto manifest = parse(m.dump());
  ASSERT_TRUE(bool(manifest)) << llvm::toString(manifest.takeError());
  EXPECT_EQ(manifest->tasks[0].variantNames,
            (std::vector<std::string>{"x", "y", "net.dense.s50", "a"}));
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST_F(ManifestErrors, MalformedJson) {
  auto manifest = parse("{\n  \"tasks\": [,]\n}");
  ASSERT_FALSE(bool(manifest));
  std::string err = llvm::toString(manifest.takeError());
  EXPECT_NE(err.find(file() + ":2:"), std::string::npos) << err;
  EXPECT_NE(err.find("invalid JSON"), std::string::npos) << err;
  expectError([](json &m) { m = json::array(); },
              "the file: expected a JSON object");
}

TEST_F(ManifestErrors, MissingManifestFile) {
  auto manifest = loadManifest(dir_.path("app/none.json"));
  ASSERT_FALSE(bool(manifest));
  std::string err = llvm::toString(manifest.takeError());
  EXPECT_NE(err.find(dir_.path("app/none.json") + ": cannot open"),
            std::string::npos)
      << err;
}

TEST_F(ManifestErrors, UnknownFields) {
  expectError([](json &m) { m["tasks"][1]["priority"] = 1; },
              "tasks[1].priority: unknown field");
  expectError(
      [](json &m) {
        m["options"] = {{"segmnts", 2}};
      },
      "options.segmnts: unknown field");
  expectError([](json &m) { m["tasks"][0]["slo"]["p99"] = true; },
              "tasks[0].slo.p99: unknown field");
  expectError([](json &m) { m["tasks"][0]["calibration"]["label"] = "x"; },
              "tasks[0].calibration.label: unknown field");
  expectError([](json &m) { m["budget"] = 1; }, "budget: unknown field");
}

TEST_F(ManifestErrors, WrongTypes) {
  expectError([](json &m) { m["tasks"][0]["request_rate_hz"] = "10"; },
              "tasks[0].request_rate_hz: expected a number > 0, got \"10\"");
  expectError(
      [](json &m) {
        m["options"] = {{"threads", "2"}};
      },
      "options.threads: expected an integer");
  expectError(
      [](json &m) {
        m["options"] = {{"exhaustive", 1}};
      },
      "options.exhaustive: expected true or false");
  expectError([](json &m) { m["options"] = 3; },
              "options: expected a JSON object");
  expectError([](json &m) { m["tasks"][0]["variants"][1] = 7; },
              "tasks[0].variants[1]: expected the path of the model file");
  expectError([](json &m) { m["tasks"][0]["variants"] = "a.onnx"; },
              "tasks[0].variants: expected a non-empty array");
  expectError([](json &m) { m["tasks"] = json::object(); },
              "tasks: expected an array of tasks");
  expectError([](json &m) { m["tasks"][0]["slo"] = 2; },
              "tasks[0].slo: expected a JSON object");
  expectError([](json &m) { m["tasks"][0]["name"] = 3; },
              "tasks[0].name: expected a non-empty string");
  expectError([](json &m) { m["tasks"][0]["segments"] = 2.5; },
              "tasks[0].segments: expected an integer");
  expectError([](json &m) { m["memory_budget"] = true; },
              "memory_budget: expected a memory size > 0");
}

TEST_F(ManifestErrors, MissingRequiredFields) {
  for (const char *key : {"platform", "memory_budget", "tasks"})
    expectError([&](json &m) { m.erase(key); },
                std::string(key) + ": required field is missing");
  for (const char *key :
       {"name", "variants", "calibration", "slo", "request_rate_hz"})
    expectError([&](json &m) { m["tasks"][1].erase(key); },
                "tasks[1]." + std::string(key) + ": required field is missing");
  expectError([](json &m) { m["tasks"][0]["slo"].erase("latency_ms"); },
              "tasks[0].slo.latency_ms: required field is missing");
  expectError([](json &m) { m["tasks"][0]["slo"].erase("accuracy"); },
              "tasks[0].slo.accuracy: required field is missing");
  expectError([](json &m) { m["tasks"][0]["calibration"].erase("inputs"); },
              "tasks[0].calibration.inputs: required field is missing");
}

TEST_F(ManifestErrors, EmptyLists) {
  expectError([](json &m) { m["tasks"] = json::array(); },
              "tasks: the manifest lists no task (add at least one)");
  expectError([](json &m) { m["tasks"][0]["variants"] = json::array(); },
              "tasks[0].variants: expected a non-empty array of model files");
}

TEST_F(ManifestErrors, TaskNames) {
  expectError([](json &m) { m["tasks"][1]["name"] = "a"; },
              "tasks[1].name: duplicate task name 'a' (tasks[0] has it");
  expectError([](json &m) { m["tasks"][0]["name"] = "key words"; },
              "tasks[0].name: 'key words' is not a valid task name");
  expectError([](json &m) { m["tasks"][0]["name"] = "a.b"; },
              "tasks[0].name: 'a.b' is not a valid task name");
  expectError([](json &m) { m["tasks"][0]["name"] = ""; },
              "tasks[0].name: expected a non-empty string");
  EXPECT_EQ(errorAfter([](json &m) { m["tasks"][0]["name"] = "Kws_v2-b"; }),
            "");
}

TEST_F(ManifestErrors, MissingFiles) {
  expectError(
      [](json &m) { m["tasks"][0]["variants"][1] = "../models/a.s99.onnx"; },
      "tasks[0].variants[1]: the model file '../models/a.s99.onnx' "
      "(resolved to '" +
          dir_.path("app/../models/a.s99.onnx") + "') does not exist");
  expectError(
      [](json &m) {
        m["tasks"][0]["calibration"]["labels"] = "../models/none.npy";
      },
      "tasks[0].calibration.labels: the data file '../models/none.npy'");
  expectError(
      [](json &m) {
        m["tasks"][1]["test"] = {{"inputs", "../models/b.test.npy"}};
      },
      "tasks[1].test.inputs: the data file '../models/b.test.npy'");
  expectError([](json &m) { m["platform"] = "../platforms/host.json"; },
              "platform: the platform file '../platforms/host.json'");
  // A directory is not a file, even with the right extension.
  dir_.write("models/dir.onnx/x");
  expectError(
      [](json &m) { m["tasks"][0]["variants"][1] = "../models/dir.onnx"; },
      "tasks[0].variants[1]: the model file '../models/dir.onnx'");
  // Files of the wrong kind are caught before the existence check.
  expectError(
      [](json &m) { m["tasks"][0]["variants"][1] = "../models/a.calib.npy"; },
      "tasks[0].variants[1]: \"../models/a.calib.npy\" is not a model file");
  expectError(
      [](json &m) {
        m["tasks"][0]["calibration"]["inputs"] = "../models/a.dense.onnx";
      },
      "tasks[0].calibration.inputs: expected a .npy file");
}

TEST_F(ManifestErrors, DuplicateVariantNames) {
  dir_.write("models/other/a.s90.onnx");
  expectError(
      [](json &m) {
        m["tasks"][0]["variants"].push_back("../models/other/a.s90.onnx");
      },
      "tasks[0].variants[2]: variant name 's90' repeats that of "
      "tasks[0].variants[1]");
  // The same file twice is the same mistake.
  expectError(
      [](json &m) {
        m["tasks"][0]["variants"].push_back("../models/a.dense.onnx");
      },
      "tasks[0].variants[2]: variant name 'dense' repeats that of "
      "tasks[0].variants[0]");
  // Names are per task: another task may reuse one.
  dir_.write("models/b.s90.onnx");
  EXPECT_EQ(errorAfter([](json &m) {
              m["tasks"][1]["variants"].push_back("../models/b.s90.onnx");
            }),
            "");
}

TEST_F(ManifestErrors, NumbersOutOfRange) {
  for (double rate : {0.0, -1.0})
    expectError([&](json &m) { m["tasks"][0]["request_rate_hz"] = rate; },
                "tasks[0].request_rate_hz: expected a number > 0");
  expectError([](json &m) { m["tasks"][0]["slo"]["latency_ms"] = 0; },
              "tasks[0].slo.latency_ms: expected a number > 0, got 0");
  expectError([](json &m) { m["tasks"][0]["slo"]["accuracy"] = 90; },
              "tasks[0].slo.accuracy: expected a fraction in [0, 1], got 90 "
              "(write 0.9 for 90 %)");
  expectError([](json &m) { m["tasks"][0]["slo"]["accuracy"] = -0.1; },
              "tasks[0].slo.accuracy: expected a fraction in [0, 1]");
  for (int ends : {0, 1})
    EXPECT_EQ(
        errorAfter([&](json &m) { m["tasks"][0]["slo"]["accuracy"] = ends; }),
        "");
  for (int segments : {0, 65}) {
    expectError([&](json &m) { m["tasks"][1]["segments"] = segments; },
                "tasks[1].segments: expected an integer in [1, 64]");
    expectError(
        [&](json &m) {
          m["options"] = {{"segments", segments}};
        },
        "options.segments: expected an integer in [1, 64]");
  }
  expectError(
      [](json &m) {
        m["options"] = {{"front_resolution", 1.5}};
      },
      "options.front_resolution: expected a number in [0, 1]");
  expectError(
      [](json &m) {
        m["options"] = {{"threads", 0}};
      },
      "options.threads: expected an integer in [1, 256]");
  for (const json &budget :
       {json(0), json(-5), json(1.5), json("0 MiB"), json("-1 MiB")})
    expectError([&](json &m) { m["memory_budget"] = budget; },
                "memory_budget: expected a memory size > 0");
  expectError([](json &m) { m["memory_budget"] = "4 M"; },
              "memory_budget: unknown unit \"M\" in \"4 M\"");
}

//===----------------------------------------------------------------------===//
// Memory sizes
//===----------------------------------------------------------------------===//

TEST(MemorySize, Units) {
  struct Case {
    const char *text;
    uint64_t bytes;
  } cases[] = {
      {"4 MiB", 4194304},      {"512 KiB", 524288}, {"2MB", 2000000},
      {"1.5 GiB", 1610612736}, {"3 kB", 3000},      {"3 KB", 3000},
      {"2 GB", 2000000000},    {"100 B", 100},      {"4096", 4096},
      {" 0.5MiB ", 524288},    {"1.5 B", 2},        {"0 B", 0},
  };
  for (const Case &c : cases) {
    auto bytes = parseMemorySize(c.text);
    ASSERT_TRUE(bool(bytes))
        << c.text << ": " << llvm::toString(bytes.takeError());
    EXPECT_EQ(*bytes, c.bytes) << c.text;
  }
  for (const char *bad : {"4 M", "4 mib", "4 Mb", "MiB", "", "1e3 B",
                          "1.2.3 MB", "-1 MiB", "4 MiB extra", "inf B"}) {
    auto bytes = parseMemorySize(bad);
    ASSERT_FALSE(bool(bytes)) << bad << " gave " << *bytes;
    std::string err = llvm::toString(bytes.takeError());
    // Every message teaches the units.
    EXPECT_NE(err.find("KiB, MiB, GiB powers of 1024"), std::string::npos)
        << err;
  }
}

// A number is bytes (whole, also when JSON writes it as 4e6); a string
// carries its unit.
TEST_F(ManifestErrors, BudgetForms) {
  const std::pair<json, uint64_t> cases[] = {
      {json(1048576), 1048576},   {json(4e6), 4000000},
      {json("512 KiB"), 524288},  {json("2MB"), 2000000},
      {json("1.5 MiB"), 1572864},
  };
  for (const auto &c : cases) {
    json m = manifest_;
    m["memory_budget"] = c.first;
    auto manifest = parse(m.dump());
    ASSERT_TRUE(bool(manifest)) << llvm::toString(manifest.takeError());
    EXPECT_EQ(manifest->memoryBudgetBytes, c.second) << c.first.dump();
  }
}

//===----------------------------------------------------------------------===//
// Path resolution
//===----------------------------------------------------------------------===//

// Relative paths resolve against the manifest's directory, so the same
// manifest loads from anywhere; what comes back is usable from the current
// directory. Absolute paths stay as they are.
TEST_F(ManifestErrors, PathsResolveFromAnyDirectory) {
  json m = manifest_;
  m["tasks"][1]["variants"][0] = dir_.path("models/b.onnx"); // absolute
  dir_.write("app/m.json", m.dump(2));
  dir_.write("elsewhere/deeper/.keep");

  auto check = [&](const std::string &manifestPath, const std::string &dir,
                   const std::string &firstVariant) {
    auto manifest = loadManifest(manifestPath);
    ASSERT_TRUE(bool(manifest)) << llvm::toString(manifest.takeError());
    EXPECT_EQ(manifest->dir, dir);
    const ManifestTask &a = manifest->tasks[0];
    EXPECT_EQ(a.variants[0], firstVariant);
    EXPECT_EQ(manifest->tasks[1].variants[0], dir_.path("models/b.onnx"));
    for (const std::string &path :
         {a.variants[0], a.variants[1], a.calibration.inputs,
          a.calibration.labels, manifest->tasks[1].variants[0],
          manifest->platform})
      EXPECT_TRUE(isFile(path)) << path << " from " << manifestPath;
  };
  {
    CurrentDir cwd(dir_.path("elsewhere/deeper"));
    check("../../app/m.json", "../../app", "../../app/../models/a.dense.onnx");
  }
  {
    CurrentDir cwd(dir_.path("app"));
    check("m.json", ".", "../models/a.dense.onnx");
    check("./m.json", ".", "../models/a.dense.onnx");
  }
  {
    CurrentDir cwd(dir_.path("models"));
    check(dir_.path("app/m.json"), dir_.path("app"),
          dir_.path("app/../models/a.dense.onnx"));
  }
  // The error names the path as written and where it was looked for.
  {
    CurrentDir cwd(dir_.path("elsewhere"));
    m["tasks"][0]["variants"][0] = "a.dense.onnx";
    dir_.write("app/m.json", m.dump(2));
    auto manifest = loadManifest("../app/m.json");
    ASSERT_FALSE(bool(manifest));
    std::string err = llvm::toString(manifest.takeError());
    EXPECT_NE(err.find("../app/m.json: tasks[0].variants[0]: the model file "
                       "'a.dense.onnx' (resolved to '../app/a.dense.onnx') "
                       "does not exist (relative paths are relative to the "
                       "manifest's directory, '../app')"),
              std::string::npos)
        << err;
  }
}
