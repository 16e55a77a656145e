# SPDX-License-Identifier: BSD-2-Clause
# Golden tests: one per truth file - lab captures (captures/*.truth.json), crafted captures
# (tests/crafted/*.truth.json) and public captures (tests/golden/public/*.truth.json, skipped
# when ../shared/captures-public is absent) - and, for lab captures, a comparison with tshark.
#
# pending13.txt lists golden tests whose truth the library does not meet yet (issue 13: NAT and
# load balancers seen from both sides, anonymous logins, TLS 1.3 PSK links): they run with
# WILL_FAIL (a pass is reported as a failure, so the line is removed when the library is fixed)
# and carry the label pending13 (`ctest -L pending13` lists them).
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/pending13.txt ftpi_pending_lines REGEX "^golden\\.")
set(FTPI_GOLDEN_PENDING "")
foreach(l ${ftpi_pending_lines})
  string(REGEX REPLACE "[ \t]*#.*$" "" l "${l}")
  list(APPEND FTPI_GOLDEN_PENDING ${l})
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/pending13.txt)
function(ftpi_golden prefix script)
  foreach(t ${ARGN})
    get_filename_component(n ${t} NAME)
    string(REPLACE ".truth.json" "" n ${n})
    add_test(NAME golden.${prefix}.${n} COMMAND ${Python3_EXECUTABLE}
      ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/${script} --ftpinspect $<TARGET_FILE:ftpinspect>
      --truth ${t})
    set_tests_properties(golden.${prefix}.${n} PROPERTIES LABELS golden SKIP_RETURN_CODE 77)
    if(golden.${prefix}.${n} IN_LIST FTPI_GOLDEN_PENDING)
      set_tests_properties(golden.${prefix}.${n} PROPERTIES WILL_FAIL TRUE LABELS "golden;pending13")
    endif()
    # the same truth with four engines on four threads (issue 15): golden.w4.<prefix>.<name>
    if(script STREQUAL "check_truth.py")
      add_test(NAME golden.w4.${prefix}.${n} COMMAND ${Python3_EXECUTABLE}
        ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/${script} --ftpinspect $<TARGET_FILE:ftpinspect>
        --truth ${t} --workers 4)
      set_tests_properties(golden.w4.${prefix}.${n} PROPERTIES LABELS "golden;workers"
        SKIP_RETURN_CODE 77)
      if(golden.${prefix}.${n} IN_LIST FTPI_GOLDEN_PENDING)
        set_tests_properties(golden.w4.${prefix}.${n} PROPERTIES WILL_FAIL TRUE
          LABELS "golden;workers;pending13")
      endif()
    endif()
  endforeach()
endfunction()

file(GLOB FTPI_LAB_TRUTHS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/captures/*.truth.json)
file(GLOB FTPI_CRAFTED_TRUTHS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/crafted/*.truth.json)
file(GLOB FTPI_PUBLIC_TRUTHS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/public/*.truth.json)
ftpi_golden(lab check_truth.py ${FTPI_LAB_TRUTHS})
ftpi_golden(crafted check_truth.py ${FTPI_CRAFTED_TRUTHS})
ftpi_golden(public check_truth.py ${FTPI_PUBLIC_TRUTHS})
ftpi_golden(tshark tshark_compare.py ${FTPI_LAB_TRUTHS})

# No secret in any output (tests/golden/check_secrets.py): every format of every capture whose
# truth file names its secrets; and the Wireshark plugin's tree for the crafted captures.
foreach(set lab crafted public)
  if(set STREQUAL "lab")
    set(_truths ${FTPI_LAB_TRUTHS})
  elseif(set STREQUAL "crafted")
    set(_truths ${FTPI_CRAFTED_TRUTHS})
  else()
    set(_truths ${FTPI_PUBLIC_TRUTHS})
  endif()
  add_test(NAME golden.secrets.${set} COMMAND ${Python3_EXECUTABLE}
    ${CMAKE_CURRENT_LIST_DIR}/check_secrets.py --ftpinspect $<TARGET_FILE:ftpinspect> ${_truths})
  set_tests_properties(golden.secrets.${set} PROPERTIES LABELS golden SKIP_RETURN_CODE 77
    TIMEOUT 600)
endforeach()
if(TARGET ftpinspect_wireshark AND NOT FTPI_SANITIZE)
  get_target_property(_ftpi_ws_mm ftpinspect_wireshark FTPI_WIRESHARK_MAJMIN)
  add_test(NAME wireshark.secrets COMMAND ${Python3_EXECUTABLE}
    ${CMAKE_CURRENT_LIST_DIR}/check_secrets.py --ftpinspect $<TARGET_FILE:ftpinspect>
    --ws-plugin $<TARGET_FILE:ftpinspect_wireshark> --ws-majmin ${_ftpi_ws_mm}
    ${FTPI_CRAFTED_TRUTHS})
  set_tests_properties(wireshark.secrets PROPERTIES LABELS wireshark SKIP_RETURN_CODE 77
    TIMEOUT 600)
endif()
