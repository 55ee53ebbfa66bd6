//===- Manifest.cpp - The model set of one application --------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Reads a manifest strictly (docs/Manifest.md), in the style of platform
// files: every field is checked for type and range, unknown fields are
// errors, and every message names the file and the field's JSON path. On
// top of that, every file the manifest names must exist, so that a typo in
// a path fails here, in a second, and not after minutes of compiling the
// tasks before it.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Tool/Manifest.h"

#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Support/FileIO.h"
#include "sparseloom/Support/JsonFields.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cmath>

namespace sparseloom {

namespace {

/// The model formats the importer reads (docs/UserGuide.md, "Inputs").
const char *const kModelExtensions[] = {".onnx", ".onnxtext", ".onnxtxt",
                                        ".slir"};

const char *const kSizeHint =
    "use a number of bytes or a string such as \"4 MiB\": B, kB (or KB), MB, "
    "GB are powers of 1000, KiB, MiB, GiB powers of 1024";

std::string itemPath(const std::string &arrayPath, size_t index) {
  return arrayPath + "[" + std::to_string(index) + "]";
}

bool isValidName(llvm::StringRef name) {
  return !name.empty() && llvm::all_of(name, [](char c) {
    return llvm::isAlnum(c) || c == '_' || c == '-';
  });
}

llvm::StringRef modelExtension(llvm::StringRef fileName) {
  for (llvm::StringRef ext : kModelExtensions)
    if (fileName.endswith(ext) && fileName.size() > ext.size())
      return ext;
  return "";
}

/// "<task>.<variant>.onnx" -> "<variant>"; any other name -> its stem. The
/// zoo's naming, without requiring it: "resnet50-int8.onnx" stays usable.
std::string variantNameFor(llvm::StringRef path, llvm::StringRef task) {
  llvm::StringRef stem = llvm::sys::path::filename(path);
  stem = stem.drop_back(modelExtension(stem).size());
  std::string prefix = task.str() + ".";
  if (stem.startswith(prefix) && stem.size() > prefix.size())
    return stem.drop_front(prefix.size()).str();
  return stem.str();
}

/// Relative paths are relative to the manifest's directory. ".." is kept
/// rather than collapsed, so a symlinked directory still resolves as the
/// file system would resolve it.
std::string resolvePath(llvm::StringRef baseDir, llvm::StringRef path) {
  llvm::SmallString<256> full;
  if (llvm::sys::path::is_absolute(path) || baseDir.empty()) {
    full = path;
  } else {
    full = baseDir;
    llvm::sys::path::append(full, path);
  }
  llvm::sys::path::remove_dots(full, /*remove_dot_dot=*/false);
  return std::string(full.str());
}

/// Resolves the file named by the string at `value` and checks it exists;
/// `what` ("a model file") goes into messages.
class PathResolver {
public:
  explicit PathResolver(std::string baseDir) : baseDir_(std::move(baseDir)) {}

  llvm::Expected<std::string> file(const nlohmann::json &value,
                                   const std::string &path,
                                   const std::string &what) const {
    if (!value.is_string() || value.get<std::string>().empty())
      return makeError(path + ": expected the path of " + what +
                       " (a string), got " + value.dump());
    std::string written = value.get<std::string>();
    std::string resolved = resolvePath(baseDir_, written);
    std::string shown = "'" + written + "'";
    if (resolved != written)
      shown += " (resolved to '" + resolved + "')";
    llvm::sys::fs::file_status status;
    if (llvm::sys::fs::status(resolved, status) ||
        !llvm::sys::fs::exists(status))
      return makeError(
          path + ": " + what + " " + shown +
          " does not exist (relative paths are relative to the "
          "manifest's directory" +
          (baseDir_.empty() ? std::string() : ", '" + baseDir_ + "'") + ")");
    if (llvm::sys::fs::is_directory(status))
      return makeError(path + ": " + what + " " + shown +
                       " is a directory (name a file)");
    return resolved;
  }

private:
  std::string baseDir_;
};

llvm::Expected<double> requiredPositive(JsonObjectReader &reader,
                                        const std::string &key,
                                        const std::string &hint) {
  const nlohmann::json *value = reader.get(key);
  if (!value)
    return reader.fieldError(key, "required field is missing (" + hint + ")");
  if (!value->is_number() || !(value->get<double>() > 0))
    return reader.fieldError(key, "expected a number > 0, got " +
                                      value->dump() + " (" + hint + ")");
  return value->get<double>();
}

llvm::Expected<ManifestData> parseData(const nlohmann::json &value,
                                       const std::string &path,
                                       const PathResolver &paths) {
  JsonObjectReader reader(value, path);
  if (llvm::Error err = reader.checkIsObject())
    return err;
  ManifestData data;
  for (const char *key : {"inputs", "labels"}) {
    const nlohmann::json *file = reader.get(key);
    if (!file) {
      // Labels are optional: without them only agreement with the dense
      // reference can be measured, not accuracy.
      if (std::string(key) == "labels")
        continue;
      return reader.fieldError(key, "required field is missing (the .npy "
                                    "file of the inputs)");
    }
    if (file->is_string() &&
        !llvm::StringRef(file->get<std::string>()).endswith(".npy"))
      return reader.fieldError(key,
                               "expected a .npy file, got " + file->dump());
    auto resolved = paths.file(*file, reader.fieldPath(key), "the data file");
    if (!resolved)
      return resolved.takeError();
    (std::string(key) == "inputs" ? data.inputs : data.labels) = *resolved;
  }
  if (llvm::Error err = reader.finish())
    return err;
  return data;
}

llvm::Expected<ManifestSlo> parseSlo(const nlohmann::json &value,
                                     const std::string &path) {
  JsonObjectReader reader(value, path);
  if (llvm::Error err = reader.checkIsObject())
    return err;
  ManifestSlo slo;
  auto latency = requiredPositive(
      reader, "latency_ms", "the deadline of one request, in milliseconds");
  if (!latency)
    return latency.takeError();
  slo.latencyMs = *latency;
  const nlohmann::json *accuracy = reader.get("accuracy");
  if (!accuracy)
    return reader.fieldError("accuracy", "required field is missing (the "
                                         "accuracy floor, a fraction in "
                                         "[0, 1])");
  // A floor written in percent (90) is the likely mistake: say so.
  if (!accuracy->is_number() || !(accuracy->get<double>() >= 0) ||
      !(accuracy->get<double>() <= 1))
    return reader.fieldError("accuracy", "expected a fraction in [0, 1], got " +
                                             accuracy->dump() +
                                             " (write 0.9 for 90 %)");
  slo.accuracy = accuracy->get<double>();
  if (llvm::Error err = reader.finish())
    return err;
  return slo;
}

llvm::Error parseVariants(JsonObjectReader &reader, const PathResolver &paths,
                          ManifestTask &task) {
  const std::string path = reader.fieldPath("variants");
  const nlohmann::json *variants = reader.get("variants");
  if (!variants)
    return reader.fieldError("variants",
                             "required field is missing (the task's model "
                             "files, the dense reference first)");
  if (!variants->is_array() || variants->empty())
    return reader.fieldError(
        "variants", "expected a non-empty array of model files, the dense "
                    "reference first, got " +
                        variants->dump());
  llvm::StringMap<size_t> seen; // variant name -> index
  for (size_t i = 0; i < variants->size(); ++i) {
    const nlohmann::json &value = (*variants)[i];
    if (value.is_string() &&
        modelExtension(llvm::sys::path::filename(value.get<std::string>()))
            .empty())
      return makeError(itemPath(path, i) + ": " + value.dump() +
                       " is not a model file (expected .onnx, .onnxtext, "
                       ".onnxtxt or .slir)");
    auto file = paths.file(value, itemPath(path, i), "the model file");
    if (!file)
      return file.takeError();
    std::string name = variantNameFor(*file, task.name);
    auto inserted = seen.try_emplace(name, i);
    if (!inserted.second)
      return makeError(itemPath(path, i) + ": variant name '" + name +
                       "' repeats that of " +
                       itemPath(path, inserted.first->second) +
                       " (variants are named after their files, "
                       "<task>.<variant>.onnx; rename one)");
    task.variants.push_back(std::move(*file));
    task.variantNames.push_back(std::move(name));
  }
  return llvm::Error::success();
}

llvm::Expected<ManifestTask> parseTask(const nlohmann::json &value,
                                       const std::string &path,
                                       const PathResolver &paths) {
  JsonObjectReader reader(value, path);
  if (llvm::Error err = reader.checkIsObject())
    return err;
  ManifestTask task;
  auto name = reader.requiredString("name");
  if (!name)
    return name.takeError();
  if (!isValidName(*name))
    return reader.fieldError("name", "'" + *name +
                                         "' is not a valid task name (use "
                                         "letters, digits, '_' and '-')");
  task.name = *name;
  if (llvm::Error err = parseVariants(reader, paths, task))
    return err;

  const nlohmann::json *calibration = reader.get("calibration");
  if (!calibration)
    return reader.fieldError("calibration",
                             "required field is missing (an object with the "
                             ".npy files 'inputs' and 'labels')");
  auto calibrationData =
      parseData(*calibration, reader.fieldPath("calibration"), paths);
  if (!calibrationData)
    return calibrationData.takeError();
  task.calibration = std::move(*calibrationData);
  if (const nlohmann::json *test = reader.get("test")) {
    auto testData = parseData(*test, reader.fieldPath("test"), paths);
    if (!testData)
      return testData.takeError();
    task.test = std::move(*testData);
  }

  const nlohmann::json *slo = reader.get("slo");
  if (!slo)
    return reader.fieldError("slo", "required field is missing (the default "
                                    "SLO: {\"latency_ms\": ..., "
                                    "\"accuracy\": ...})");
  auto parsedSlo = parseSlo(*slo, reader.fieldPath("slo"));
  if (!parsedSlo)
    return parsedSlo.takeError();
  task.slo = *parsedSlo;

  auto rate = requiredPositive(reader, "request_rate_hz",
                               "the expected requests per second");
  if (!rate)
    return rate.takeError();
  task.requestRateHz = *rate;
  if (reader.has("segments")) {
    auto segments = reader.optionalInteger("segments", 0, 1, 64);
    if (!segments)
      return segments.takeError();
    task.segments = unsigned(*segments);
  }
  if (llvm::Error err = reader.finish())
    return err;
  return task;
}

llvm::Expected<ManifestOptions> parseOptions(const nlohmann::json &value,
                                             const std::string &path) {
  JsonObjectReader reader(value, path);
  if (llvm::Error err = reader.checkIsObject())
    return err;
  ManifestOptions options;
  // Integer options: key, destination, allowed range. The defaults are the
  // struct's, so the documentation has one source of truth.
  struct IntegerOption {
    const char *key;
    unsigned *field;
    int64_t min, max;
  };
  const IntegerOption integers[] = {
      {"segments", &options.segments, 1, 64},
      {"max_live_tensors", &options.maxLiveTensors, 1, 1024},
      {"threads", &options.threads, 1, 256},
      {"exhaustive_limit", &options.exhaustiveLimit, 1, 1000000000},
      {"validation_sample", &options.validationSample, 1, 1000000},
      {"slo_grid", &options.sloGrid, 1, 256},
      {"max_variants_per_task", &options.maxVariantsPerTask, 0, 1000000},
  };
  for (const IntegerOption &option : integers) {
    auto v = reader.optionalInteger(option.key, *option.field, option.min,
                                    option.max);
    if (!v)
      return v.takeError();
    *option.field = unsigned(*v);
  }
  auto exhaustive = reader.optionalBool("exhaustive", options.exhaustive);
  if (!exhaustive)
    return exhaustive.takeError();
  options.exhaustive = *exhaustive;
  auto resolution =
      reader.optionalNumber("front_resolution", options.frontResolution, 0, 1);
  if (!resolution)
    return resolution.takeError();
  options.frontResolution = *resolution;
  if (llvm::Error err = reader.finish())
    return err;
  return options;
}

llvm::Expected<uint64_t> parseBudget(JsonObjectReader &reader) {
  const std::string key = "memory_budget";
  const nlohmann::json *value = reader.get(key);
  if (!value)
    return reader.fieldError(key, "required field is missing (the memory "
                                  "for resident weights; " +
                                      std::string(kSizeHint) + ")");
  uint64_t bytes = 0;
  if (value->is_string()) {
    auto parsed = parseMemorySize(value->get<std::string>());
    if (!parsed)
      return reader.fieldError(key, llvm::toString(parsed.takeError()));
    bytes = *parsed;
  } else if (value->is_number_integer() && value->get<int64_t>() >= 0) {
    bytes = value->get<uint64_t>();
  } else if (value->is_number_float() && value->get<double>() > 0 &&
             value->get<double>() < 0x1p63 &&
             std::floor(value->get<double>()) == value->get<double>()) {
    // 4e6 is a float in JSON but a whole number of bytes.
    bytes = uint64_t(value->get<double>());
  } else {
    return reader.fieldError(key, "expected a memory size > 0, got " +
                                      value->dump() + " (" + kSizeHint + ")");
  }
  if (bytes == 0)
    return reader.fieldError(key, "expected a memory size > 0, got " +
                                      value->dump() + " (" + kSizeHint + ")");
  return bytes;
}

llvm::Expected<Manifest> parseRoot(const nlohmann::json &json,
                                   Manifest manifest) {
  JsonObjectReader reader(json, "");
  if (llvm::Error err = reader.checkIsObject())
    return err;
  // Paths resolve against the directory the manifest was named with; ""
  // (a manifest in the current directory) leaves them as written.
  PathResolver paths(manifest.dir == "." ? "" : manifest.dir);
  auto description = reader.optionalString("description", "");
  if (!description)
    return description.takeError();
  manifest.description = *description;

  const nlohmann::json *platform = reader.get("platform");
  if (!platform)
    return reader.fieldError("platform",
                             "required field is missing (the platform file, "
                             "e.g. \"../../platforms/host.json\")");
  auto platformFile = paths.file(*platform, "platform", "the platform file");
  if (!platformFile)
    return platformFile.takeError();
  manifest.platform = *platformFile;

  auto budget = parseBudget(reader);
  if (!budget)
    return budget.takeError();
  manifest.memoryBudgetBytes = *budget;

  if (const nlohmann::json *options = reader.get("options")) {
    auto parsed = parseOptions(*options, "options");
    if (!parsed)
      return parsed.takeError();
    manifest.options = *parsed;
  }

  const nlohmann::json *tasks = reader.get("tasks");
  if (!tasks)
    return reader.fieldError("tasks", "required field is missing (the "
                                      "application's tasks)");
  if (!tasks->is_array())
    return reader.fieldError("tasks", "expected an array of tasks, got " +
                                          tasks->dump());
  if (tasks->empty())
    return reader.fieldError("tasks",
                             "the manifest lists no task (add at least one)");
  llvm::StringMap<size_t> seen; // task name -> index
  for (size_t i = 0; i < tasks->size(); ++i) {
    auto task = parseTask((*tasks)[i], itemPath("tasks", i), paths);
    if (!task)
      return task.takeError();
    auto inserted = seen.try_emplace(task->name, i);
    if (!inserted.second)
      return makeError(itemPath("tasks", i) + ".name: duplicate task name '" +
                       task->name + "' (" +
                       itemPath("tasks", inserted.first->second) +
                       " has it; task names must be unique)");
    manifest.tasks.push_back(std::move(*task));
  }
  if (llvm::Error err = reader.finish())
    return err;
  return manifest;
}

} // namespace

const ManifestTask *Manifest::findTask(llvm::StringRef name) const {
  for (const ManifestTask &task : tasks)
    if (task.name == name)
      return &task;
  return nullptr;
}

llvm::Expected<uint64_t> parseMemorySize(llvm::StringRef text) {
  llvm::StringRef rest = text.trim();
  auto fail = [&](const std::string &what) {
    return makeError(what + " (" + kSizeHint + ")");
  };
  if (rest.startswith("-"))
    return fail("expected a memory size > 0, got \"" + text.str() + "\"");
  llvm::StringRef number =
      rest.take_while([](char c) { return llvm::isDigit(c) || c == '.'; });
  double value = 0;
  // getAsDouble alone would also take "1e3" or "inf"; the digits-and-dot
  // prefix keeps the syntax to what the documentation promises.
  if (number.empty() || number.count('.') > 1 || number == "." ||
      number.getAsDouble(value))
    return fail("expected a number followed by a unit, got \"" + text.str() +
                "\"");
  llvm::StringRef unit = rest.drop_front(number.size()).ltrim();
  static const struct {
    const char *name;
    double bytes;
  } units[] = {{"", 1},         {"B", 1},        {"kB", 1e3},
               {"KB", 1e3},     {"MB", 1e6},     {"GB", 1e9},
               {"KiB", 1024.0}, {"MiB", 0x1p20}, {"GiB", 0x1p30}};
  for (const auto &u : units) {
    if (unit != u.name)
      continue;
    double bytes = std::round(value * u.bytes);
    if (!(bytes < 0x1p63))
      return fail("memory size \"" + text.str() + "\" is too large");
    return uint64_t(bytes);
  }
  return fail("unknown unit \"" + unit.str() + "\" in \"" + text.str() + "\"");
}

llvm::Expected<Manifest> parseManifest(llvm::StringRef json,
                                       const std::string &file) {
  auto parsed = parseJsonText(json.str(), file);
  if (!parsed)
    return parsed.takeError();
  Manifest manifest;
  manifest.file = file;
  manifest.dir = llvm::sys::path::parent_path(file).str();
  if (manifest.dir.empty())
    manifest.dir = ".";
  auto result = parseRoot(*parsed, std::move(manifest));
  if (!result)
    return withFile(result.takeError(), file);
  return result;
}

llvm::Expected<Manifest> loadManifest(const std::string &path) {
  auto text = readFile(path);
  if (!text)
    return text.takeError();
  return parseManifest(*text, path);
}

} // namespace sparseloom
