# Warnings for SparseLoom's own targets. Third-party headers are included as
# SYSTEM so that their warnings never hide ours.
function(sparseloom_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()
