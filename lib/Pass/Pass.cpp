//===- Pass.cpp - Pass options, statistics and debug output ---------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Pass/Pass.h"

#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"

#include <set>

namespace sparseloom {

llvm::Expected<int64_t> PassOptions::getInt(llvm::StringRef key,
                                            int64_t defaultValue) const {
  auto it = values_.find(key.str());
  if (it == values_.end())
    return defaultValue;
  int64_t v;
  if (llvm::StringRef(it->second).getAsInteger(10, v))
    return makeError("option '" + key + "' expects an integer, got '" +
                     it->second + "'");
  return v;
}

llvm::Expected<double> PassOptions::getDouble(llvm::StringRef key,
                                              double defaultValue) const {
  auto it = values_.find(key.str());
  if (it == values_.end())
    return defaultValue;
  double v;
  if (llvm::StringRef(it->second).getAsDouble(v))
    return makeError("option '" + key + "' expects a number, got '" +
                     it->second + "'");
  return v;
}

llvm::Expected<bool> PassOptions::getBool(llvm::StringRef key,
                                          bool defaultValue) const {
  auto it = values_.find(key.str());
  if (it == values_.end())
    return defaultValue;
  if (it->second == "true" || it->second == "1" || it->second.empty())
    return true;
  if (it->second == "false" || it->second == "0")
    return false;
  return makeError("option '" + key + "' expects true or false, got '" +
                   it->second + "'");
}

std::string PassOptions::getString(llvm::StringRef key,
                                   llvm::StringRef defaultValue) const {
  auto it = values_.find(key.str());
  return it == values_.end() ? defaultValue.str() : it->second;
}

int64_t PassStatistics::get(llvm::StringRef name) const {
  auto it = counts_.find(name.str());
  return it == counts_.end() ? 0 : it->second;
}

llvm::Error Pass::runOnFamily(Family &family) {
  for (FamilyMember &member : family.members)
    if (llvm::Error err = run(*member.module))
      return withFile(std::move(err), member.file);
  return llvm::Error::success();
}

llvm::Error checkKnownOptions(const PassInfo &info,
                              const PassOptions &options) {
  for (const auto &entry : options.values()) {
    bool known = false;
    for (const PassOptionInfo &opt : info.options)
      known |= opt.name == entry.first;
    if (known)
      continue;
    std::string list;
    for (const PassOptionInfo &opt : info.options)
      list += (list.empty() ? "" : ", ") + opt.name;
    return makeError(
        "pass '" + info.name + "' has no option '" + entry.first + "'" +
        (list.empty() ? " (it takes none)" : " (options: " + list + ")"));
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Debug output
//===----------------------------------------------------------------------===//

namespace {
std::set<std::string> &debugTypes() {
  static std::set<std::string> types;
  return types;
}
} // namespace

void setDebugOnly(llvm::StringRef typesCommaSeparated) {
  llvm::SmallVector<llvm::StringRef, 4> parts;
  typesCommaSeparated.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef p : parts)
    debugTypes().insert(p.trim().str());
}

bool isDebugTypeEnabled(llvm::StringRef type) {
  const auto &types = debugTypes();
  return !types.empty() && types.count(type.str());
}

llvm::raw_ostream &debugStream() { return llvm::errs(); }

} // namespace sparseloom
