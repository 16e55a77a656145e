# SPDX-License-Identifier: BSD-2-Clause
# --workers (issue 15): every capture gives the same events with 1 and with N workers - the lab
# and crafted captures, and the public ones when ../shared/captures-public is there (skipped
# otherwise). 3 workers leave a remainder in the host-pair hash that 4 does not.
foreach(n 3 4)
  add_test(NAME workers.compare.w${n} COMMAND ${Python3_EXECUTABLE}
    ${CMAKE_CURRENT_LIST_DIR}/compare.py --ftpinspect $<TARGET_FILE:ftpinspect> --workers ${n}
    ${PROJECT_SOURCE_DIR}/captures ${PROJECT_SOURCE_DIR}/tests/crafted)
  set_tests_properties(workers.compare.w${n} PROPERTIES LABELS workers)
endforeach()
add_test(NAME workers.compare_public.w4 COMMAND ${Python3_EXECUTABLE}
  ${CMAKE_CURRENT_LIST_DIR}/compare.py --ftpinspect $<TARGET_FILE:ftpinspect> --workers 4
  ${PROJECT_SOURCE_DIR}/../shared/captures-public)
set_tests_properties(workers.compare_public.w4 PROPERTIES LABELS workers SKIP_RETURN_CODE 77)
# The data connection from another client address hashes to another worker than its control
# connection under 4 workers: it is claimed from the store and linked, with data_ip_mismatch.
add_test(NAME workers.cross_worker_claim COMMAND ${Python3_EXECUTABLE}
  ${CMAKE_CURRENT_LIST_DIR}/cross_worker.py --ftpinspect $<TARGET_FILE:ftpinspect>
  --pcap ${PROJECT_SOURCE_DIR}/captures/vsftpd_data_from_other_ip.pcap --workers 4)
set_tests_properties(workers.cross_worker_claim PROPERTIES LABELS workers)
# Live: two sockets of one AF_PACKET fanout group on a veth pair in namespaces (root, tcpreplay).
add_test(NAME workers.live COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/live_workers.sh
  $<TARGET_FILE:ftpinspect>)
set_tests_properties(workers.live PROPERTIES LABELS "live;workers" SKIP_RETURN_CODE 77
  TIMEOUT 300 RUN_SERIAL TRUE)
