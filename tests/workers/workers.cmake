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
# A corpus made at test time from lab captures only (bench/make_corpus.py, 3 MB): FTPS and
# readable sessions of one server from several clients, failed logins of one client on several
# servers. Per-server and per-client facts (passive range, brute force) must be those of one
# engine under 2 and 4 workers.
set(FTPI_FACTS_CAPS vsftpd_ftps_explicit_tls12 vsftpd_ftps_tls13_lftp vsftpd_ftps_lftp
  vsftpd_ftps_tls13_curl proftpd_ftps_tls13_lftp pureftpd_ftps_tls13_curl vsftpd_plain_passive
  vsftpd_epsv vsftpd_anonymous vsftpd_brute_force vsftpd_login_failed_then_ok)
list(TRANSFORM FTPI_FACTS_CAPS PREPEND ${PROJECT_SOURCE_DIR}/captures/)
list(TRANSFORM FTPI_FACTS_CAPS APPEND .pcap)
add_test(NAME workers.corpus_facts COMMAND ${Python3_EXECUTABLE}
  ${CMAKE_CURRENT_LIST_DIR}/corpus_compare.py --ftpinspect $<TARGET_FILE:ftpinspect>
  --make-corpus ${PROJECT_SOURCE_DIR}/bench/make_corpus.py
  --out ${CMAKE_CURRENT_BINARY_DIR}/workers_facts_corpus.pcap --workers 2,4 ${FTPI_FACTS_CAPS})
set_tests_properties(workers.corpus_facts PROPERTIES LABELS workers TIMEOUT 300)
# Corpora of every Ethernet lab capture (20 MB each, made at test time; seeds chosen so that
# each shows one of these with the host-pair spread): a claimed connection never answered when
# its owner's session ends (reported as of that end, its flow no data connection), a session
# whose expectation connections on several engines met (each counted), the helper address two
# engines learned differently (the latest kept), clear text on a claimed data connection (said
# as of its packet).
add_test(NAME workers.corpus_lab COMMAND ${Python3_EXECUTABLE}
  ${CMAKE_CURRENT_LIST_DIR}/corpus_compare.py --ftpinspect $<TARGET_FILE:ftpinspect>
  --make-corpus ${PROJECT_SOURCE_DIR}/bench/make_corpus.py
  --out ${CMAKE_CURRENT_BINARY_DIR}/workers_lab_corpus --target-mb 20
  --seed ftpinspect-bench-1,1,4 --workers 2,3,4 --ethernet-only ${PROJECT_SOURCE_DIR}/captures)
set_tests_properties(workers.corpus_lab PROPERTIES LABELS workers TIMEOUT 300)
# A reply read when the input ends (held behind a lost segment) carries the capture's last
# frame, as with one engine, although the last packets went to other workers.
add_test(NAME workers.end_frame COMMAND ${Python3_EXECUTABLE}
  ${CMAKE_CURRENT_LIST_DIR}/end_frame.py --ftpinspect $<TARGET_FILE:ftpinspect>
  --out ${CMAKE_CURRENT_BINARY_DIR}/workers_end_frame.pcap --workers 2,3,4)
set_tests_properties(workers.end_frame PROPERTIES LABELS workers)
