# SPDX-License-Identifier: BSD-2-Clause
# Golden tests: one per truth file - lab captures (captures/*.truth.json), crafted captures
# (tests/crafted/*.truth.json) and public captures (tests/golden/public/*.truth.json, skipped
# when ../shared/captures-public is absent) - and, for lab captures, a comparison with tshark.
function(ftpi_golden prefix script)
  foreach(t ${ARGN})
    get_filename_component(n ${t} NAME)
    string(REPLACE ".truth.json" "" n ${n})
    add_test(NAME golden.${prefix}.${n} COMMAND ${Python3_EXECUTABLE}
      ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/${script} --ftpinspect $<TARGET_FILE:ftpinspect>
      --truth ${t})
    set_tests_properties(golden.${prefix}.${n} PROPERTIES LABELS golden SKIP_RETURN_CODE 77)
  endforeach()
endfunction()

file(GLOB FTPI_LAB_TRUTHS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/captures/*.truth.json)
file(GLOB FTPI_CRAFTED_TRUTHS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/crafted/*.truth.json)
file(GLOB FTPI_PUBLIC_TRUTHS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/public/*.truth.json)
ftpi_golden(lab check_truth.py ${FTPI_LAB_TRUTHS})
ftpi_golden(crafted check_truth.py ${FTPI_CRAFTED_TRUTHS})
ftpi_golden(public check_truth.py ${FTPI_PUBLIC_TRUTHS})
ftpi_golden(tshark tshark_compare.py ${FTPI_LAB_TRUTHS})
