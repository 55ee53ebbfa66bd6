//===- JsonFields.h - Strict reading of JSON input files --------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// User-written JSON (platform files, manifests) is read strictly: a wrong
// type, a value out of range or an unknown field (usually a typo) is an
// error naming the JSON path of the field, e.g.
// "processors[1].dense_gflops: expected a number > 0, got \"fast\"".
// JsonObjectReader reads one object and remembers which fields it consumed
// so finish() can reject the rest.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_SUPPORT_JSONFIELDS_H
#define SPARSELOOM_SUPPORT_JSONFIELDS_H

#include "llvm/Support/Error.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <set>
#include <string>

namespace sparseloom {

/// Parses `text`; a syntax error names the file, line and column.
llvm::Expected<nlohmann::json> parseJsonText(const std::string &text,
                                             const std::string &fileName);

class JsonObjectReader {
public:
  /// `path` is the object's JSON path ("" for the root, "processors[1]").
  JsonObjectReader(const nlohmann::json &object, std::string path);

  /// Fails when the value is not an object.
  llvm::Error checkIsObject() const;

  bool has(const std::string &key) const;
  /// The raw value of a field (marks it consumed); null when absent.
  const nlohmann::json *get(const std::string &key);

  llvm::Expected<std::string> requiredString(const std::string &key);
  llvm::Expected<std::string> optionalString(const std::string &key,
                                             const std::string &fallback);
  /// A number in [min, max].
  llvm::Expected<double> optionalNumber(const std::string &key, double fallback,
                                        double min, double max);
  llvm::Expected<double> requiredNumber(const std::string &key, double min,
                                        double max);
  llvm::Expected<int64_t> optionalInteger(const std::string &key,
                                          int64_t fallback, int64_t min,
                                          int64_t max);
  llvm::Expected<bool> optionalBool(const std::string &key, bool fallback);

  /// The path of a field, for messages about its contents.
  std::string fieldPath(const std::string &key) const;
  /// An error about field `key`.
  llvm::Error fieldError(const std::string &key,
                         const std::string &message) const;
  /// Fails on the first field that was never read.
  llvm::Error finish() const;

private:
  const nlohmann::json &object_;
  std::string path_;
  std::set<std::string> consumed_;
};

} // namespace sparseloom

#endif // SPARSELOOM_SUPPORT_JSONFIELDS_H
