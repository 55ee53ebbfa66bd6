//===- ZooCardCheck.cpp - The committed zoo matches its model cards -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// For every examples/zoo/<task>/card.json: imports every variant the card
// lists, runs canonicalize + sparsity-analysis, and checks that the densities
// SparseLoom measures are the ones the card (written by the torch scripts in
// scripts/zoo) claims. Card layers are named by torch parameter names, which
// the ONNX export may rename (BatchNorm folding creates new initializers), so
// layers are matched by density: each card layer must find its own analyzed
// weight whose density agrees within one weight. Zeros survive BatchNorm
// folding (w * scale), so densities are comparable after canonicalize.
//
// Usage: sparseloom-zoo-check ZOO_DIR   (prints one line per variant)
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Support/FileIO.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "nlohmann/json.hpp"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using namespace sparseloom;

namespace {

struct AnalyzedWeight {
  std::string name;
  double density;
  int64_t elements;
  bool matched = false;
};

llvm::Expected<std::vector<AnalyzedWeight>> analyze(const std::string &path) {
  auto module = loadModel(path);
  if (!module)
    return module.takeError();
  auto passes = createPassPipeline("canonicalize,sparsity-analysis");
  if (!passes)
    return passes.takeError();
  PassManager pm;
  for (auto &pass : *passes)
    pm.addPass(std::move(pass));
  if (llvm::Error err = pm.run(**module))
    return withFile(std::move(err), path);
  std::vector<AnalyzedWeight> weights;
  for (const auto &entry : (*module)->graph.weights()) {
    const Weight &w = entry.second;
    if (w.annotations.count("sparsity.density"))
      weights.push_back(
          {w.name, w.data->density(), w.data->numElements(), false});
  }
  return weights;
}

/// Checks one variant; returns the number of problems found.
int checkVariant(const std::string &dir, const nlohmann::json &variant) {
  std::string file = variant.at("file").get<std::string>();
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, file);
  auto weights = analyze(std::string(path));
  if (!weights) {
    reportError("sparseloom-zoo-check", weights.takeError());
    return 1;
  }
  int problems = 0;
  const auto &layers = variant.at("density_per_layer");
  for (auto it = layers.begin(); it != layers.end(); ++it) {
    double claimed = it.value().get<double>();
    // The closest unmatched weight within one element of the claim.
    AnalyzedWeight *best = nullptr;
    for (AnalyzedWeight &w : *weights) {
      double tolerance = 1.0 / double(std::max<int64_t>(w.elements, 1)) + 1e-9;
      if (!w.matched && std::fabs(w.density - claimed) <= tolerance &&
          (!best ||
           std::fabs(w.density - claimed) < std::fabs(best->density - claimed)))
        best = &w;
    }
    if (!best) {
      llvm::errs() << "sparseloom-zoo-check: error: " << path
                   << ": card layer '" << it.key() << "' claims density "
                   << claimed << " but no analyzed weight has it\n";
      ++problems;
      continue;
    }
    best->matched = true;
  }
  llvm::outs() << (problems ? "FAIL " : "ok   ") << path << ": "
               << (layers.size() - size_t(problems)) << " of " << layers.size()
               << " card layers matched against " << weights->size()
               << " analyzed weights\n";
  return problems;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    llvm::errs() << "usage: sparseloom-zoo-check ZOO_DIR\n";
    return 2;
  }
  std::error_code ec;
  std::vector<std::string> taskDirs;
  for (llvm::sys::fs::directory_iterator it(argv[1], ec), end; it != end && !ec;
       it.increment(ec))
    if (llvm::sys::fs::exists(it->path() + "/card.json"))
      taskDirs.push_back(it->path());
  std::sort(taskDirs.begin(), taskDirs.end());
  if (ec || taskDirs.empty()) {
    llvm::errs() << "sparseloom-zoo-check: error: " << argv[1]
                 << ": no <task>/card.json found\n";
    return 1;
  }
  int problems = 0, variants = 0;
  for (const std::string &dir : taskDirs) {
    auto text = readFile(dir + "/card.json");
    if (!text) {
      reportError("sparseloom-zoo-check", text.takeError());
      return 1;
    }
    nlohmann::json card;
    try {
      card = nlohmann::json::parse(*text);
      for (const auto &variant : card.at("variants")) {
        problems += checkVariant(dir, variant);
        ++variants;
      }
    } catch (const nlohmann::json::exception &e) {
      llvm::errs() << "sparseloom-zoo-check: error: " << dir
                   << "/card.json: " << e.what() << "\n";
      return 1;
    }
  }
  llvm::outs() << variants << " variants in " << taskDirs.size() << " tasks, "
               << problems << " problems\n";
  return problems ? 1 : 0;
}
