//===- SparseCrossover.cpp - Measure the dense/sparse crossover densities -===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Calibrates lowering's kernel rule (include/sparseloom/Lower/
// KernelSelection.h) on this machine. For each activation layout (a 1x1
// convolution, whose activations are [K, N] with N output pixels; a
// fully-connected layer, whose activations are [N, K] with N rows), each N
// and each density, it lowers one op three times (forced dense, CSR and 4x1
// blocks), runs the programs interleaved through the runtime on one thread
// and keeps the fastest run of each (other processes only ever add time).
// Timing the whole op, not the bare kernels, includes what the runtime adds
// around them (transposes for sparse Gemm, the epilogue). The crossover is
// the density where a sparse program becomes as fast as the dense one, from
// a robust line fit of the time ratio against density; 4x1 blocks are timed
// on block-structured weights, so their crossover is in non-zero-block
// density.
//
//   calibrate-sparse [--out lib/Lower/KernelThresholds.inc] [--repeat R]
//                    [--quick]
//
// prints the measurements and writes the table lowering compiles in. With
// --repeat, the whole sweep runs R times and each crossover is the median of
// its R estimates (for a machine other work disturbs).
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Module.h"
#include "sparseloom/Lower/Lower.h"
#include "sparseloom/Runtime/Runtime.hpp"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace sparseloom;

namespace {

enum class Layout { Conv, Rows };

const char *layoutName(Layout layout) {
  return layout == Layout::Conv ? "conv" : "rows";
}

/// A weight [m, k] with the given density: unstructured, or in 4x1 blocks.
std::vector<float> makeWeight(int64_t m, int64_t k, double density, bool blocks,
                              std::mt19937 &rng) {
  std::uniform_real_distribution<float> value(0.1f, 1.0f);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::vector<float> w(size_t(m * k), 0.0f);
  for (int64_t r = 0; r < m; r += blocks ? 4 : 1)
    for (int64_t c = 0; c < k; ++c)
      if (coin(rng) < density)
        for (int64_t i = 0; i < (blocks ? 4 : 1); ++i)
          w[size_t((r + i) * k + c)] = value(rng);
  return w;
}

/// One op computing W[m, k] x activations with N columns, in `layout`.
std::unique_ptr<Module> makeModule(Layout layout, int64_t m, int64_t k,
                                   int64_t n, const std::vector<float> &w) {
  auto module = std::make_unique<Module>();
  module->opsetImports[""] = 13;
  Graph &g = module->graph;
  g.name = "calibrate";
  Node node;
  node.name = "product";
  node.outputs = {"y"};
  if (layout == Layout::Conv) {
    // N pixels as a 1 x N image keeps every N exact.
    g.inputs = {"x"};
    g.setType("x", TensorType::get(DType::F32, {1, k, 1, n}));
    g.setWeight(Weight{"w", TensorData::fromFloats({m, k, 1, 1}, w), {}});
    node.opType = "Conv";
    node.inputs = {"x", "w"};
    g.setType("y", TensorType::get(DType::F32, {1, m, 1, n}));
  } else {
    g.inputs = {"x"};
    g.setType("x", TensorType::get(DType::F32, {n, k}));
    g.setWeight(Weight{"w", TensorData::fromFloats({m, k}, w), {}});
    node.opType = "Gemm";
    node.inputs = {"x", "w"};
    node.attributes["transB"] = Attribute(int64_t(1));
    g.setType("y", TensorType::get(DType::F32, {n, m}));
  }
  g.addNode(std::move(node));
  g.outputs = {"y"};
  return module;
}

struct Runner {
  runtime::Program program;
  runtime::Session session;
  std::vector<float> input;
  sl_tensor_view view{};

  bool init(const std::vector<uint8_t> &blob, size_t inputElements) {
    if (!runtime::Program::load(blob.data(), blob.size(), program) ||
        !runtime::Session::create(program, session, {1, 0}))
      return false;
    sl_tensor_info info = program.inputInfo(0);
    input.assign(inputElements, 0.5f);
    for (size_t i = 0; i < input.size(); ++i)
      input[i] = float(i % 17) * 0.05f - 0.4f;
    view.dtype = info.dtype;
    view.rank = info.rank;
    std::memcpy(view.dims, info.dims, sizeof(view.dims));
    view.data = input.data();
    view.bytes = input.size() * sizeof(float);
    return true;
  }
  double runNs() {
    auto start = std::chrono::steady_clock::now();
    session.run(&view, 1);
    auto end = std::chrono::steady_clock::now();
    return double(
        std::chrono::duration_cast<std::chrono::nanoseconds>(end - start)
            .count());
  }
};

/// Time of each policy's program for one configuration: the fastest of
/// interleaved rounds. On a shared machine other processes only ever add
/// time, so the minimum is the estimate least disturbed by them.
std::vector<double> timePolicies(Layout layout, int64_t m, int64_t k, int64_t n,
                                 const std::vector<float> &w,
                                 const std::vector<KernelPolicy> &policies,
                                 int rounds) {
  auto module = makeModule(layout, m, k, n, w);
  std::vector<Runner> runners(policies.size());
  for (size_t i = 0; i < policies.size(); ++i) {
    LowerOptions options;
    options.kernelPolicy = policies[i];
    auto blob = lowerModule(*module, options);
    if (!blob) {
      llvm::errs() << "calibrate-sparse: error: "
                   << llvm::toString(blob.takeError()) << "\n";
      std::exit(1);
    }
    if (!runners[i].init(*blob, size_t(k * n))) {
      llvm::errs() << "calibrate-sparse: error: the runtime rejected a "
                      "program\n";
      std::exit(1);
    }
  }
  // Warm up (caches, the session's first-run effects), then interleave;
  // short ops get more rounds, up to about 0.5 s per configuration.
  double slowest = 0;
  for (Runner &r : runners)
    for (int i = 0; i < 2; ++i)
      slowest = std::max(slowest, r.runNs());
  rounds = std::max(
      rounds, std::min(80, int(5e8 / (slowest * double(runners.size())))));
  std::vector<double> best(policies.size(), 1e300);
  for (int round = 0; round < rounds; ++round)
    for (size_t i = 0; i < runners.size(); ++i)
      best[i] = std::min(best[i], runners[i].runNs());
  return best;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

/// The density where ratio(d) = sparse/dense reaches 1. A sparse kernel's
/// time is linear in the non-zeros it visits, so ratio(d) = a + b d; the
/// line is fitted with the Theil-Sen estimator (median of pairwise slopes),
/// which ignores the few timings a busy machine spoils. Clamped to [0.01, 1].
double crossover(const std::vector<double> &densities,
                 const std::vector<double> &ratios) {
  std::vector<double> slopes, intercepts;
  for (size_t i = 0; i < densities.size(); ++i)
    for (size_t j = i + 1; j < densities.size(); ++j)
      slopes.push_back((ratios[j] - ratios[i]) / (densities[j] - densities[i]));
  double b = median(slopes);
  for (size_t i = 0; i < densities.size(); ++i)
    intercepts.push_back(ratios[i] - b * densities[i]);
  double a = median(intercepts);
  if (b <= 0)
    return a < 1.0 ? 1.0 : 0.01; // flat: always or never sparse
  return std::min(1.0, std::max(0.01, (1.0 - a) / b));
}

struct Measured {
  Layout layout;
  int64_t n;
  double csr, block;
};

} // namespace

int main(int argc, char **argv) {
  std::string out;
  bool quick = false;
  int repeat = 1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--out") && i + 1 < argc)
      out = argv[++i];
    else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--quick"))
      quick = true;
    else {
      llvm::errs() << "usage: calibrate-sparse [--out FILE.inc] [--repeat R] "
                      "[--quick]\n";
      return 2;
    }
  }
  if (!sl_cpu_has_avx2_fma()) {
    llvm::errs() << "calibrate-sparse: error: this CPU lacks AVX2+FMA; the "
                    "fast kernels it would calibrate cannot run\n";
    return 1;
  }
  const int64_t m = 512, k = 512;
  const std::vector<double> densities =
      quick ? std::vector<double>{0.1, 0.3, 0.5}
            : std::vector<double>{0.05, 0.1, 0.2, 0.3, 0.4,
                                  0.5,  0.6, 0.7, 0.8, 1.0};
  const int rounds = quick ? 3 : 7;
  struct Config {
    Layout layout;
    std::vector<int64_t> columns;
  };
  const std::vector<Config> configs = {
      {Layout::Rows, {1, 8, 32, 128, 512}},
      {Layout::Conv, {49, 196, 784, 3136}},
  };
  std::mt19937 rng(42);
  std::vector<std::vector<Measured>> sweeps;
  std::printf("# W[%lld, %lld] x activations, 1 thread, fastest of >= %d "
              "interleaved runs; ratios against the fastest dense run of "
              "the row\n",
              (long long)m, (long long)k, rounds);
  std::printf("%-6s %6s %7s %10s %9s %9s\n", "layout", "N", "density",
              "dense_us", "csr/dense", "4x1/dense");
  for (int sweep = 0; sweep < repeat; ++sweep) {
    std::vector<Measured> table;
    for (const Config &config : configs) {
      for (int64_t n : config.columns) {
        // The dense time does not depend on the values, so every density's
        // dense run measures the same thing: keep the fastest of all.
        std::vector<double> csr, block;
        double dense = 1e300;
        for (double d : densities) {
          std::vector<float> unstructured = makeWeight(m, k, d, false, rng);
          std::vector<float> blocked = makeWeight(m, k, d, true, rng);
          auto a =
              timePolicies(config.layout, m, k, n, unstructured,
                           {KernelPolicy::Dense, KernelPolicy::Csr}, rounds);
          auto b = timePolicies(config.layout, m, k, n, blocked,
                                {KernelPolicy::Dense, KernelPolicy::Block4x1},
                                rounds);
          dense = std::min({dense, a[0], b[0]});
          csr.push_back(a[1]);
          block.push_back(b[1]);
        }
        std::vector<double> csrRatios, blockRatios;
        for (size_t i = 0; i < densities.size(); ++i) {
          csrRatios.push_back(csr[i] / dense);
          blockRatios.push_back(block[i] / dense);
          std::printf("%-6s %6lld %7.2f %10.1f %9.3f %9.3f\n",
                      layoutName(config.layout), (long long)n, densities[i],
                      dense / 1e3, csrRatios.back(), blockRatios.back());
        }
        std::fflush(stdout);
        table.push_back({config.layout, n, crossover(densities, csrRatios),
                         crossover(densities, blockRatios)});
      }
    }
    sweeps.push_back(table);
  }
  // Per entry, the median over the sweeps.
  std::vector<Measured> table = sweeps.front();
  for (size_t i = 0; i < table.size(); ++i) {
    std::vector<double> csr, block;
    for (const auto &sweep : sweeps) {
      csr.push_back(sweep[i].csr);
      block.push_back(sweep[i].block);
    }
    table[i].csr = median(csr);
    table[i].block = median(block);
  }

  std::printf("\n# crossover densities (sparse wins below), median of %d "
              "sweep(s)\n",
              repeat);
  for (const Measured &row : table)
    std::printf("%-6s N<=%-6lld csr %.3f  4x1 %.3f\n", layoutName(row.layout),
                (long long)row.n, row.csr, row.block);
  if (out.empty())
    return 0;

  // The .inc lowering compiles in: one table per layout, N ascending.
  char date[32];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%d", std::gmtime(&now));
  std::string cpu = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  std::string tmp = out + ".tmp";
  {
    std::ofstream file(tmp);
    file << "// Dense/sparse crossover densities, measured by "
            "benchmarks/SparseCrossover.cpp\n"
            "// (calibrate-sparse --out lib/Lower/KernelThresholds.inc); "
            "do not edit by hand.\n"
            "// W["
         << m << ", " << k
         << "] x activations, 1 thread, fastest of >= " << rounds
         << " interleaved runs,\n"
            "// crossover from a Theil-Sen line fit of the time ratio, median "
            "of "
         << repeat << " sweep(s).\n";
    file << "SL_THRESHOLDS_SOURCE(\"calibrate-sparse on " << cpu << ", " << date
         << "\")\n";
    for (const Measured &row : table) {
      char line[128];
      std::snprintf(
          line, sizeof(line), "SL_THRESHOLD_ROW(%s, %lld, %.3f, %.3f)\n",
          layoutName(row.layout), (long long)row.n, row.csr, row.block);
      file << line;
    }
    if (!file) {
      llvm::errs() << "calibrate-sparse: error: cannot write " << tmp << "\n";
      return 1;
    }
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0) {
    llvm::errs() << "calibrate-sparse: error: cannot write " << out << "\n";
    return 1;
  }
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
