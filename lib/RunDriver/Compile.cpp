//===- Compile.cpp - Models to runtime programs for the host driver -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A thin layer over compileForRuntime (lib/Lower): it works on a copy, so a
// caller can compile one imported model several times (other shapes, other
// kernel choices), it names the model file in every error, and it records
// the program's boundary names and static types, which chaining subgraphs
// and binding .npy files need.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/RunDriver/RunDriver.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Tool/ModelLoader.h"

using namespace sparseloom;
using namespace sparseloom::run;

llvm::Expected<CompiledModel>
sparseloom::run::compileModule(const Module &module, llvm::StringRef source,
                               const CompileSettings &settings) {
  // Storage of weights is shared by the copy, so this is cheap even for
  // large models.
  std::unique_ptr<Module> copy = module.clone();
  CompileOptions options;
  options.inputShapes = settings.inputShapes;
  options.lower.kernelPolicy = settings.kernels;
  options.lower.fuseDepthwise = settings.fuseDepthwise;
  options.lower.padPlanes = settings.padPlanes;
  options.lower.scratchThreads = std::max(1u, settings.threads);
  auto program = compileForRuntime(*copy, options);
  if (!program)
    return withFile(program.takeError(), source);

  CompiledModel result;
  result.source = source.str();
  result.blob = std::move(program->bytes);
  result.report = std::move(program->report);
  const Graph &graph = copy->graph;
  for (const std::string &name : graph.inputs) {
    result.inputNames.push_back(name);
    result.inputTypes.push_back(graph.getType(name));
  }
  for (const std::string &name : graph.outputs) {
    result.outputNames.push_back(name);
    result.outputTypes.push_back(graph.getType(name));
  }
  return result;
}

llvm::Expected<std::vector<CompiledModel>>
sparseloom::run::compileSequence(const std::vector<const Module *> &modules,
                                 const std::vector<std::string> &sources,
                                 const CompileSettings &settings) {
  assert(modules.size() == sources.size() && "one source name per module");
  std::vector<CompiledModel> programs;
  CompileSettings current = settings;
  for (size_t m = 0; m < modules.size(); ++m) {
    if (m > 0) {
      const std::vector<std::string> &inputs = modules[m]->graph.inputs;
      const CompiledModel &previous = programs.back();
      if (inputs.size() != previous.outputTypes.size())
        return llvm::make_error<DiagnosticError>(
            sources[m], "",
            "takes " + std::to_string(inputs.size()) + " input(s) but " +
                previous.source + " produces " +
                std::to_string(previous.outputTypes.size()) +
                " output(s); subgraphs are chained by position");
      current.inputShapes.clear();
      for (size_t i = 0; i < inputs.size(); ++i) {
        // The runtime checks the boundary too (sl_session_create); checking
        // here first names both files and the tensors.
        TensorType declared = modules[m]->graph.getType(inputs[i]);
        const TensorType &produced = previous.outputTypes[i];
        bool fits = declared.dtype == produced.dtype &&
                    (!declared.hasRank() || declared.rank() == produced.rank());
        for (size_t d = 0; fits && declared.hasRank() && d < declared.rank();
             ++d)
          fits = !(*declared.dims)[d].isKnown() ||
                 (*declared.dims)[d].size() == (*produced.dims)[d].size();
        if (!fits)
          return llvm::make_error<DiagnosticError>(
              sources[m], "",
              "input " + std::to_string(i) + " '" + inputs[i] + "' is " +
                  formatType(declared) + " but output " + std::to_string(i) +
                  " '" + previous.outputNames[i] + "' of " + previous.source +
                  " is " + formatType(produced) +
                  " (subgraphs are chained by position)");
        current.inputShapes[inputs[i]] = produced.sizes();
      }
    }
    auto compiled = compileModule(*modules[m], sources[m], current);
    if (!compiled)
      return compiled.takeError();
    programs.push_back(std::move(*compiled));
  }
  return programs;
}

llvm::Expected<CompiledModel>
sparseloom::run::compileModelFile(llvm::StringRef path,
                                  const CompileSettings &settings) {
  auto module = loadModel(path);
  if (!module)
    return module.takeError();
  return compileModule(**module, path, settings);
}
