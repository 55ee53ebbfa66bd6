# sparseloom_add_library(NAME SOURCES... [LINK libs...])
# A compiler-side static library with the project's include path and warnings.
function(sparseloom_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PUBLIC ${ARG_LINK})
  sparseloom_target_warnings(${name})
endfunction()
