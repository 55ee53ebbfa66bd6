//===- ProcessIsolation.cpp - Run crash-prone ONNX code in a child --------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// ONNX 1.12's shape inference and version converter trust attribute values
// and input ranks that its checker does not validate: a Conv with strides
// [0,0] divides by zero, a LayerNormalization with an out-of-range axis or an
// STFT with a rank-1 signal reads past the end of a shape. On such models
// ONNX crashes the whole process instead of throwing. The importer promises
// an error, never a crash, so those calls run in a forked child that sends
// its result back through a pipe; a child killed by a signal becomes a
// diagnostic. The child shares the model through copy-on-write memory, so
// only the (small) result is copied.
//
//===----------------------------------------------------------------------===//

#include "ImportInternal.h"

#include "sparseloom/Support/Diagnostics.h"

#if defined(__unix__) || defined(__APPLE__)
#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/wait.h>
#include <unistd.h>
#define SPARSELOOM_HAVE_FORK 1
#endif

namespace sparseloom {
namespace onnx_import {

#ifdef SPARSELOOM_HAVE_FORK

namespace {

bool writeAll(int fd, const std::string &data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += size_t(n);
  }
  return true;
}

} // namespace

llvm::Expected<std::string> runIsolated(llvm::function_ref<std::string()> work,
                                        llvm::StringRef what) {
  int fds[2];
  if (::pipe(fds) != 0)
    return work(); // no isolation is better than no import
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return work();
  }
  if (pid == 0) {
    // The child: die quietly on a crash (a tool may have installed a
    // stack-trace printer), and leave with _exit so no atexit handler,
    // static destructor or inherited stdio buffer runs twice.
    ::close(fds[0]);
    for (int sig : {SIGSEGV, SIGFPE, SIGBUS, SIGILL, SIGABRT})
      std::signal(sig, SIG_DFL);
    std::string result;
    try {
      result = work();
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(writeAll(fds[1], result) ? 0 : 4);
  }

  ::close(fds[1]);
  std::string result;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    result.append(buffer, size_t(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    return makeError("ONNX crashed (signal " + llvm::Twine(WTERMSIG(status)) +
                     ", " + ::strsignal(WTERMSIG(status)) + ") while " + what +
                     "; the model is malformed in a way ONNX 1.12 does not "
                     "diagnose (check attribute values such as strides, pads "
                     "and axes, and the ranks of the inputs)");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return makeError("ONNX failed while " + what + " (exit status " +
                     llvm::Twine(WEXITSTATUS(status)) + ")");
  return result;
}

#else

llvm::Expected<std::string> runIsolated(llvm::function_ref<std::string()> work,
                                        llvm::StringRef) {
  return work();
}

#endif

} // namespace onnx_import
} // namespace sparseloom
