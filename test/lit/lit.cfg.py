# lit configuration for SparseLoom's tool tests.
import os
import lit.formats

config.name = "SparseLoom"
# Inputs are textual models and IR that carry their own RUN lines.
config.suffixes = [".onnxtext", ".slir", ".test"]
config.test_format = lit.formats.ShTest(execute_external=False)
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.sparseloom_tools_dir, "..", "test", "lit")
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in"]

# Our tools first, then FileCheck/not/count from LLVM 14.
tool_dirs = [os.path.join(config.sparseloom_tools_dir, d)
             for d in sorted(os.listdir(config.sparseloom_tools_dir))
             if os.path.isdir(os.path.join(config.sparseloom_tools_dir, d))]
# Test-only tools (test/tools, e.g. sparseloom-make-test-bundle).
test_tools_dir = os.path.join(config.sparseloom_tools_dir, "..", "test", "tools")
if os.path.isdir(test_tools_dir):
    tool_dirs += [os.path.join(test_tools_dir, d)
                  for d in sorted(os.listdir(test_tools_dir))
                  if os.path.isdir(os.path.join(test_tools_dir, d))]
config.environment["PATH"] = os.pathsep.join(
    tool_dirs + [config.llvm_tools_dir, config.environment.get("PATH", "")])
config.substitutions.append(("%onnx_testdata", config.onnx_testdata_dir))
config.substitutions.append(("%examples", os.path.join(config.sparseloom_src_root, "examples")))
# The benchmark scripts, and the sparseloom-run they drive.
config.substitutions.append(("%benchmarks", os.path.join(config.sparseloom_src_root, "benchmarks")))
config.substitutions.append(("%sparseloom_run", os.path.join(config.sparseloom_tools_dir, "sparseloom-run", "sparseloom-run")))
# Helper scripts (e.g. run/Inputs/npy.py) run with lit's own interpreter.
import sys
config.substitutions.append(("%python", sys.executable))
