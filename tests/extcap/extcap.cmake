# SPDX-License-Identifier: BSD-2-Clause
# Tests of the Wireshark extcap (tools/extcap/): the extcap protocol (label "extcap") and a live
# capture through tshark on a veth pair in network namespaces (labels "extcap;live": root only,
# skipped otherwise).
if(NOT TARGET ftpinspect-extcap)
  return()
endif()
add_test(NAME extcap.protocol
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/extcap.sh protocol $<TARGET_FILE:ftpinspect-extcap>)
set_tests_properties(extcap.protocol PROPERTIES LABELS extcap SKIP_RETURN_CODE 77 TIMEOUT 120)
add_test(NAME extcap.live
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/extcap.sh live $<TARGET_FILE:ftpinspect-extcap>)
set_tests_properties(extcap.live PROPERTIES LABELS "extcap;live" SKIP_RETURN_CODE 77
  TIMEOUT 300 RUN_SERIAL TRUE)
