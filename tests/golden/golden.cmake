# SPDX-License-Identifier: BSD-2-Clause
# Golden tests: one per truth file, lab captures (captures/*.truth.json) and public captures
# (tests/golden/public/*.truth.json, skipped when ../shared/captures-public is absent).
file(GLOB FTPI_LAB_TRUTHS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/captures/*.truth.json)
file(GLOB FTPI_CRAFTED_TRUTHS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/crafted/*.truth.json)
foreach(t ${FTPI_CRAFTED_TRUTHS})
  get_filename_component(n ${t} NAME)
  string(REPLACE ".truth.json" "" n ${n})
  add_test(NAME golden.crafted.${n} COMMAND ${Python3_EXECUTABLE}
    ${CMAKE_CURRENT_LIST_DIR}/check_truth.py --ftpinspect $<TARGET_FILE:ftpinspect> --truth ${t})
  set_tests_properties(golden.crafted.${n} PROPERTIES LABELS golden SKIP_RETURN_CODE 77)
endforeach()
file(GLOB FTPI_PUBLIC_TRUTHS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/public/*.truth.json)
foreach(t ${FTPI_LAB_TRUTHS})
  get_filename_component(n ${t} NAME)
  string(REPLACE ".truth.json" "" n ${n})
  add_test(NAME golden.lab.${n} COMMAND ${Python3_EXECUTABLE}
    ${CMAKE_CURRENT_LIST_DIR}/check_truth.py --ftpinspect $<TARGET_FILE:ftpinspect> --truth ${t})
  set_tests_properties(golden.lab.${n} PROPERTIES LABELS golden SKIP_RETURN_CODE 77)
endforeach()
foreach(t ${FTPI_PUBLIC_TRUTHS})
  get_filename_component(n ${t} NAME)
  string(REPLACE ".truth.json" "" n ${n})
  add_test(NAME golden.public.${n} COMMAND ${Python3_EXECUTABLE}
    ${CMAKE_CURRENT_LIST_DIR}/check_truth.py --ftpinspect $<TARGET_FILE:ftpinspect> --truth ${t})
  set_tests_properties(golden.public.${n} PROPERTIES LABELS golden SKIP_RETURN_CODE 77)
endforeach()
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/tshark_compare.py)
  find_program(TSHARK tshark)
  foreach(t ${FTPI_LAB_TRUTHS})
    get_filename_component(n ${t} NAME)
    string(REPLACE ".truth.json" "" n ${n})
    add_test(NAME golden.tshark.${n} COMMAND ${Python3_EXECUTABLE}
      ${CMAKE_CURRENT_LIST_DIR}/tshark_compare.py --ftpinspect $<TARGET_FILE:ftpinspect>
      --truth ${t})
    set_tests_properties(golden.tshark.${n} PROPERTIES LABELS golden SKIP_RETURN_CODE 77)
  endforeach()
endif()
