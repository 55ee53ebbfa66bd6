//===- Pass.h - Passes, their declarations and statistics -------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A pass is declared once by a PassInfo (name, one-line summary, options,
// statistics, factory) in the one file that implements it, and listed once in
// passes/PassRegistry.cpp. Tools find passes only through the registry, so a
// new pass needs no tool change (docs/AddingAPass.md).
//
// Passes report user-input problems as DiagnosticError naming the node, and
// the pipeline stops; they assert on programming errors. Debug output goes
// through SL_DEBUG with DEBUG_TYPE equal to the pass name, enabled by
// --debug-only=NAME.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_PASS_PASS_H
#define SPARSELOOM_PASS_PASS_H

#include "sparseloom/IR/Family.h"
#include "sparseloom/IR/Module.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sparseloom {

/// Option values given in a pipeline: `name(key=value,key2=value2)`.
class PassOptions {
public:
  void set(std::string key, std::string value) {
    values_[key] = std::move(value);
  }
  bool has(llvm::StringRef key) const { return values_.count(key.str()) != 0; }
  const std::map<std::string, std::string> &values() const { return values_; }
  /// Typed getters; fail with a clear message on a malformed value.
  llvm::Expected<int64_t> getInt(llvm::StringRef key,
                                 int64_t defaultValue) const;
  llvm::Expected<double> getDouble(llvm::StringRef key,
                                   double defaultValue) const;
  llvm::Expected<bool> getBool(llvm::StringRef key, bool defaultValue) const;
  std::string getString(llvm::StringRef key,
                        llvm::StringRef defaultValue) const;

private:
  std::map<std::string, std::string> values_;
};

struct PassOptionInfo {
  std::string name;
  std::string description;
  std::string defaultValue;
};

struct PassStatisticInfo {
  std::string name;
  std::string description;
};

/// Counters a pass increments while it runs; printed by --stats.
class PassStatistics {
public:
  void add(llvm::StringRef name, int64_t amount = 1) {
    counts_[name.str()] += amount;
  }
  int64_t get(llvm::StringRef name) const;
  const std::map<std::string, int64_t> &counts() const { return counts_; }

private:
  std::map<std::string, int64_t> counts_;
};

class Pass;

/// Everything the registry knows about a pass.
struct PassInfo {
  std::string name;
  std::string summary;
  std::vector<PassOptionInfo> options;
  std::vector<PassStatisticInfo> statistics;
  /// Builds the pass; fails on an unknown or malformed option.
  std::function<llvm::Expected<std::unique_ptr<Pass>>(const PassOptions &)>
      create;
};

class Pass {
public:
  explicit Pass(const PassInfo &info) : info_(info) {}
  virtual ~Pass() = default;

  const PassInfo &info() const { return info_; }
  llvm::StringRef name() const { return info_.name; }
  PassStatistics &statistics() { return stats_; }
  const PassStatistics &statistics() const { return stats_; }

  /// Transforms or annotates `module` in place. Family passes, which need
  /// every variant at once, override runOnFamily instead and leave this
  /// unimplemented (it is never called for them).
  virtual llvm::Error run(Module &module) = 0;

  /// Runs over a whole family. The default runs `run` on every member in
  /// order and names the member's file in any error.
  virtual llvm::Error runOnFamily(Family &family);

  /// Receives a long pass's progress: `done` of `total` units of work.
  using ProgressSink =
      std::function<void(llvm::StringRef pass, uint64_t done, uint64_t total)>;
  /// Set by the pass manager before the pass runs.
  void setProgressSink(ProgressSink sink) { progress_ = std::move(sink); }

protected:
  /// Passes that take seconds (profile-accuracy) call this as they go, so a
  /// tool can show how far they are; a no-op without a sink.
  void reportProgress(uint64_t done, uint64_t total) {
    if (progress_)
      progress_(name(), done, total);
  }

private:
  const PassInfo &info_;
  PassStatistics stats_;
  ProgressSink progress_;
};

/// Rejects options the pass does not declare (typos must not pass silently).
llvm::Error checkKnownOptions(const PassInfo &info, const PassOptions &options);

// --- Debug output ---------------------------------------------------------

/// Enables SL_DEBUG output for a comma-separated list of debug types.
void setDebugOnly(llvm::StringRef typesCommaSeparated);
bool isDebugTypeEnabled(llvm::StringRef type);
llvm::raw_ostream &debugStream();

} // namespace sparseloom

/// Runs X (a statement writing to sparseloom::debugStream()) only when
/// --debug-only names DEBUG_TYPE.
#define SL_DEBUG(X)                                                            \
  do {                                                                         \
    if (::sparseloom::isDebugTypeEnabled(DEBUG_TYPE)) {                        \
      X;                                                                       \
    }                                                                          \
  } while (false)

#endif // SPARSELOOM_PASS_PASS_H
