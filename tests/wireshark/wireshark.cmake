# SPDX-License-Identifier: BSD-2-Clause
# Wireshark plugin tests (label "wireshark"): tshark loads the freshly built plugin from a
# temporary per-user plugin directory and reads captures/; see ws_test.py. They skip (77) when
# tshark is missing. Registered only when the plugin is built (tools/wireshark, option
# FTPI_BUILD_WIRESHARK) and without sanitizers (an instrumented plugin cannot load into tshark).
if(NOT TARGET ftpinspect_wireshark OR FTPI_SANITIZE)
  return()
endif()
if(NOT Python3_Interpreter_FOUND)
  find_package(Python3 COMPONENTS Interpreter)
endif()
if(NOT Python3_Interpreter_FOUND)
  message(STATUS "Wireshark plugin tests: not registered (no Python 3)")
  return()
endif()

get_target_property(_ftpi_ws_majmin ftpinspect_wireshark FTPI_WIRESHARK_MAJMIN)
set(_ftpi_ws_cli)
if(TARGET ftpinspect)
  set(_ftpi_ws_cli --cli $<TARGET_FILE:ftpinspect>)
endif()
set(FTPI_WIRESHARK_TESTS loaded filter_plaintext_auth fields_kinds data_expect_fields expert
  frame_links stats_tree typed_fields info_column gui
  prefs two_pass linktypes end_of_capture matches_cli)
foreach(t ${FTPI_WIRESHARK_TESTS})
  add_test(NAME wireshark.${t}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/ws_test.py
      --plugin $<TARGET_FILE:ftpinspect_wireshark> --majmin ${_ftpi_ws_majmin}
      --captures ${CMAKE_CURRENT_LIST_DIR}/../../captures ${_ftpi_ws_cli}
      --artefacts ${CMAKE_CURRENT_BINARY_DIR}/wireshark-artefacts ${t})
  set_tests_properties(wireshark.${t} PROPERTIES LABELS wireshark SKIP_RETURN_CODE 77
    TIMEOUT 300)
endforeach()
