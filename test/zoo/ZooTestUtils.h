//===- ZooTestUtils.h - Shared helpers of the zoo test drivers --*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The zoo accuracy and stitching drivers both walk examples/zoo/<task>/ and
// read .npy splits; the walking and path handling live here once.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TEST_ZOO_ZOOTESTUTILS_H
#define SPARSELOOM_TEST_ZOO_ZOOTESTUTILS_H

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <string>
#include <vector>

namespace sparseloom {
namespace zootest {

inline std::string join(llvm::StringRef dir, llvm::StringRef file) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, file);
  return std::string(path);
}

/// The task directories of a zoo (those holding a card.json), sorted.
inline std::vector<std::string> listZooTasks(const std::string &zooDir) {
  std::vector<std::string> tasks;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(zooDir, ec), end; it != end && !ec;
       it.increment(ec))
    if (llvm::sys::fs::exists(join(it->path(), "card.json")))
      tasks.push_back(it->path());
  std::sort(tasks.begin(), tasks.end());
  return tasks;
}

} // namespace zootest
} // namespace sparseloom

#endif // SPARSELOOM_TEST_ZOO_ZOOTESTUTILS_H
