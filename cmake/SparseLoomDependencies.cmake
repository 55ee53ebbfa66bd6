# Finds the compiler-side dependencies, all from Debian packages
# (scripts/setup installs them).

# ONNX's CMake package references protobuf targets without finding them.
find_package(Protobuf 3.21 REQUIRED)
find_package(ONNX 1.12 REQUIRED CONFIG)

# LLVM 14 Support only. We do not use `llvm-config --cxxflags`: it forces
# -std=c++14 and -fno-exceptions on everything it touches.
find_package(LLVM 14 REQUIRED CONFIG
             PATHS /usr/lib/llvm-14/lib/cmake/llvm NO_DEFAULT_PATH)
add_library(sparseloom_llvm INTERFACE)
target_include_directories(sparseloom_llvm SYSTEM INTERFACE ${LLVM_INCLUDE_DIRS})
target_link_libraries(sparseloom_llvm INTERFACE LLVMSupport)

find_package(nlohmann_json 3.11 REQUIRED)
find_package(CLI11 2.1 REQUIRED CONFIG)

# ONNX's exported targets carry these definitions only partially; every
# translation unit that includes onnx headers must agree on them.
add_library(sparseloom_onnx INTERFACE)
target_link_libraries(sparseloom_onnx INTERFACE onnx onnx_proto protobuf::libprotobuf)
target_compile_definitions(sparseloom_onnx INTERFACE ONNX_NAMESPACE=onnx ONNX_ML=1)

set(SPARSELOOM_LLVM_TOOLS_DIR /usr/lib/llvm-14/bin)
set(SPARSELOOM_LIT /usr/lib/llvm-14/build/utils/lit/lit.py)
