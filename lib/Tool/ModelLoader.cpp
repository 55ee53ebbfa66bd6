//===- ModelLoader.cpp - Loading any supported input into the IR ----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Tool/ModelLoader.h"

#include "sparseloom/IR/Parser.h"
#include "sparseloom/IR/Verifier.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Support/FileIO.h"

#include "llvm/Support/Path.h"

namespace sparseloom {

InputFormat inputFormatFor(llvm::StringRef path) {
  llvm::StringRef ext = llvm::sys::path::extension(path);
  if (ext == ".onnxtext" || ext == ".onnxtxt")
    return InputFormat::OnnxText;
  if (ext == ".slir")
    return InputFormat::IRText;
  return InputFormat::OnnxBinary;
}

llvm::Expected<std::unique_ptr<Module>>
loadModelFromText(llvm::StringRef text, InputFormat format,
                  llvm::StringRef path, const ImportOptions &options) {
  llvm::Expected<std::unique_ptr<Module>> module = nullptr;
  llvm::SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  switch (format) {
  case InputFormat::OnnxBinary:
    module = importOnnxBytes(text, dir, options);
    break;
  case InputFormat::OnnxText:
    module = importOnnxText(text, dir, options);
    break;
  case InputFormat::IRText:
    if (!options.inputShapes.empty())
      return withFile(makeError("--input-shape applies to ONNX inputs; the "
                                "textual IR already states every shape"),
                      path);
    module = parseModule(text, path);
    break;
  }
  if (!module)
    return withFile(module.takeError(), path);
  if (llvm::Error err = verify(**module))
    return withFile(std::move(err), path);
  return module;
}

llvm::Expected<std::unique_ptr<Module>>
loadModel(llvm::StringRef path, const ImportOptions &options) {
  auto text = readFile(path);
  if (!text)
    return text.takeError();
  return loadModelFromText(*text, inputFormatFor(path), path, options);
}

std::vector<InputChunk> splitInputFile(llvm::StringRef text) {
  std::vector<InputChunk> chunks;
  std::string current;
  unsigned line = 1, chunkStart = 1;
  auto flush = [&] {
    // Pad with the lines that precede the chunk so positions stay true.
    chunks.push_back({std::string(chunkStart - 1, '\n') + current, chunkStart});
    current.clear();
  };
  while (!text.empty()) {
    auto split = text.split('\n');
    llvm::StringRef l = split.first;
    llvm::StringRef trimmed = l.trim();
    if (trimmed == "// -----" || trimmed == "# -----") {
      flush();
      chunkStart = line + 1;
    } else {
      current += l.str();
      current += '\n';
    }
    text = split.second;
    ++line;
  }
  flush();
  return chunks;
}

} // namespace sparseloom
