# Fails if any C++ source in the repository differs from .clang-format's layout.
file(GLOB_RECURSE sources ${ROOT}/gateway/*.cpp ${ROOT}/gateway/*.hpp ${ROOT}/adapters/*.cpp
     ${ROOT}/adapters/*.hpp ${ROOT}/tools/*.cpp ${ROOT}/tools/*.hpp ${ROOT}/tests/*.cpp
     ${ROOT}/tests/*.hpp)
execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${sources} RESULT_VARIABLE rc
                ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clang-format differences (run: clang-format -i on these files):\n${out}")
endif()
message(STATUS "clang-format: all sources formatted")
