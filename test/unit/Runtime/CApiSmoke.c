/*===- CApiSmoke.c - The runtime's C API from a C99 program --------------===*\
|*                                                                            *|
|* Part of SparseLoom.                                                        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
/*
 * Built and run by scripts/check-runtime-only against the runtime-only build:
 * proves that sparseloom_runtime.h is valid C99 and that a C program links
 * the runtime libraries alone. Exits non-zero on the first wrong answer.
 */

#include "sparseloom/Runtime/sparseloom_runtime.h"

#include <stdio.h>
#include <string.h>

static int failures = 0;

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "c-api-smoke: FAILED: %s\n", what);
    ++failures;
  }
}

int main(void) {
  unsigned char junk[256];
  sl_program *program = NULL;
  sl_status status;
  memset(junk, 0x5a, sizeof(junk));
  status = sl_program_load(junk, sizeof(junk), NULL, &program);
  check(status == SL_ERROR_INVALID_PROGRAM, "junk is an invalid program");
  check(program == NULL, "out_program untouched on failure");
  check(strstr(sl_last_error_message(), "bad magic") != NULL,
        "the message names the bad magic");
  check(strcmp(sl_status_name(status), "SL_ERROR_INVALID_PROGRAM") == 0,
        "status names");
  check(sl_dtype_size(SL_DTYPE_FLOAT32) == 4, "dtype sizes");
  check(sl_builtin_op_resolver() != NULL, "built-in resolver");
  check(sl_program_load(junk, 10, NULL, &program) == SL_ERROR_INVALID_PROGRAM,
        "truncated programs are rejected");
  printf("c-api-smoke: %s (AVX2+FMA kernels %savailable)\n",
         failures ? "FAILED" : "ok", sl_cpu_has_avx2_fma() ? "" : "not ");
  return failures != 0;
}
