//===- JsonFields.cpp - Strict reading of JSON input files ----------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Support/JsonFields.h"

#include "sparseloom/Support/Diagnostics.h"

#include <cmath>

namespace sparseloom {

llvm::Expected<nlohmann::json> parseJsonText(const std::string &text,
                                             const std::string &fileName) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error &e) {
    // Turn the byte offset into a line and column people can find.
    size_t line = 1, column = 1;
    for (size_t i = 0; i < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return makeError(fileName + ":" + std::to_string(line) + ":" +
                     std::to_string(column) +
                     ": invalid JSON: " + std::string(e.what()));
  }
}

JsonObjectReader::JsonObjectReader(const nlohmann::json &object,
                                   std::string path)
    : object_(object), path_(std::move(path)) {}

llvm::Error JsonObjectReader::checkIsObject() const {
  if (object_.is_object())
    return llvm::Error::success();
  return makeError((path_.empty() ? std::string("the file") : path_) +
                   ": expected a JSON object, got " + object_.dump());
}

bool JsonObjectReader::has(const std::string &key) const {
  return object_.is_object() && object_.contains(key);
}

const nlohmann::json *JsonObjectReader::get(const std::string &key) {
  if (!has(key))
    return nullptr;
  consumed_.insert(key);
  return &object_.at(key);
}

std::string JsonObjectReader::fieldPath(const std::string &key) const {
  return path_.empty() ? key : path_ + "." + key;
}

llvm::Error JsonObjectReader::fieldError(const std::string &key,
                                         const std::string &message) const {
  return makeError(fieldPath(key) + ": " + message);
}

llvm::Expected<std::string>
JsonObjectReader::requiredString(const std::string &key) {
  const nlohmann::json *value = get(key);
  if (!value)
    return fieldError(key, "required field is missing");
  if (!value->is_string() || value->get<std::string>().empty())
    return fieldError(key, "expected a non-empty string, got " + value->dump());
  return value->get<std::string>();
}

llvm::Expected<std::string>
JsonObjectReader::optionalString(const std::string &key,
                                 const std::string &fallback) {
  if (!has(key))
    return fallback;
  const nlohmann::json *value = get(key);
  if (!value->is_string())
    return fieldError(key, "expected a string, got " + value->dump());
  return value->get<std::string>();
}

static std::string rangeText(double min, double max) {
  auto text = [](double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.')
      s.pop_back();
    return s;
  };
  if (std::isinf(max))
    return ">= " + text(min);
  return "in [" + text(min) + ", " + text(max) + "]";
}

llvm::Expected<double> JsonObjectReader::optionalNumber(const std::string &key,
                                                        double fallback,
                                                        double min,
                                                        double max) {
  if (!has(key))
    return fallback;
  const nlohmann::json *value = get(key);
  if (!value->is_number())
    return fieldError(key, "expected a number " + rangeText(min, max) +
                               ", got " + value->dump());
  double v = value->get<double>();
  if (!(v >= min && v <= max))
    return fieldError(key, "expected a number " + rangeText(min, max) +
                               ", got " + value->dump());
  return v;
}

llvm::Expected<double> JsonObjectReader::requiredNumber(const std::string &key,
                                                        double min,
                                                        double max) {
  if (!has(key))
    return fieldError(key, "required field is missing");
  return optionalNumber(key, 0, min, max);
}

llvm::Expected<int64_t>
JsonObjectReader::optionalInteger(const std::string &key, int64_t fallback,
                                  int64_t min, int64_t max) {
  if (!has(key))
    return fallback;
  const nlohmann::json *value = get(key);
  if (!value->is_number_integer() || value->get<int64_t>() < min ||
      value->get<int64_t>() > max)
    return fieldError(key, "expected an integer in [" + std::to_string(min) +
                               ", " + std::to_string(max) + "], got " +
                               value->dump());
  return value->get<int64_t>();
}

llvm::Expected<bool> JsonObjectReader::optionalBool(const std::string &key,
                                                    bool fallback) {
  if (!has(key))
    return fallback;
  const nlohmann::json *value = get(key);
  if (!value->is_boolean())
    return fieldError(key, "expected true or false, got " + value->dump());
  return value->get<bool>();
}

llvm::Error JsonObjectReader::finish() const {
  if (!object_.is_object())
    return llvm::Error::success();
  for (const auto &item : object_.items())
    if (!consumed_.count(item.key()))
      return fieldError(item.key(), "unknown field (check the spelling; the "
                                    "documentation lists every field)");
  return llvm::Error::success();
}

} // namespace sparseloom
