# SPDX-License-Identifier: BSD-2-Clause
# Sensors sharing through Redis (--share, --events-to; docs/sensors.md): a real redis-server
# started by a fixture on a free loopback port (6390-6399), stopped by its cleanup. The tests
# skip (saying so) when redis-server is missing or the tool was built without hiredis.
if(NOT FTPI_WITH_REDIS)
  return()
endif()
set(_sens_state ${CMAKE_CURRENT_BINARY_DIR}/sensors-redis)
add_test(NAME sensors.redis.start
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/redis_fixture.sh start ${_sens_state})
add_test(NAME sensors.redis.stop
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/redis_fixture.sh stop ${_sens_state})
set_tests_properties(sensors.redis.start PROPERTIES FIXTURES_SETUP ftpi_redis LABELS sensors)
set_tests_properties(sensors.redis.stop PROPERTIES FIXTURES_CLEANUP ftpi_redis LABELS sensors)
# Each test its own Redis database (tests may run at the same time).
set(_sens_tests
  "split.data_ip_mismatch:split:1:vsftpd_data_from_other_ip"
  "split.lb_no_persistence:split:2:vsftpd_lb_no_persistence"
  "split.lb_no_persistence_server_side:split:3:vsftpd_lb_no_persistence_server_side"
  "split.plain_passive:split:4:vsftpd_plain_passive"
  "split.active_port:split:5:vsftpd_active_port"
  "split.nat_pasv_address:split:10:vsftpd_nat_pasv_address"
  "faults:faults:6:vsftpd_data_from_other_ip"
  "faults.workers:faults-workers:9:vsftpd_data_from_other_ip"
  "stream:stream:7:vsftpd_plain_passive"
  "tls:tls:11:vsftpd_data_from_other_ip")
add_test(NAME sensors.solo
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/share_test.py solo
    $<TARGET_FILE:ftpinspect> ${_sens_state} 8 ${PROJECT_SOURCE_DIR}/captures)
set_tests_properties(sensors.solo PROPERTIES FIXTURES_REQUIRED ftpi_redis
  LABELS sensors SKIP_RETURN_CODE 77 TIMEOUT 300)
# Redis Cluster: every command and script on one hash slot (a private redis-server, MONITOR)
set(_slot_caps "")
foreach(c vsftpd_data_from_other_ip vsftpd_lb_no_persistence_server_side vsftpd_nat_pasv_address
    vsftpd_bounce_port vsftpd_active_port vsftpd_ipv6)
  list(APPEND _slot_caps ${PROJECT_SOURCE_DIR}/captures/${c}.pcap)
endforeach()
string(REPLACE ";" "," _slot_caps "${_slot_caps}")
add_test(NAME sensors.cluster_slots
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/share_test.py slots
    $<TARGET_FILE:ftpinspect> ${_sens_state} 0 ${_slot_caps})
set_tests_properties(sensors.cluster_slots PROPERTIES FIXTURES_REQUIRED ftpi_redis
  LABELS sensors SKIP_RETURN_CODE 77 TIMEOUT 180)
foreach(t ${_sens_tests})
  string(REPLACE ":" ";" f ${t})
  list(GET f 0 name)
  list(GET f 1 cmd)
  list(GET f 2 db)
  list(GET f 3 cap)
  add_test(NAME sensors.${name}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/share_test.py ${cmd}
      $<TARGET_FILE:ftpinspect> ${_sens_state} ${db} ${PROJECT_SOURCE_DIR}/captures/${cap}.pcap)
  set_tests_properties(sensors.${name} PROPERTIES FIXTURES_REQUIRED ftpi_redis
    LABELS sensors SKIP_RETURN_CODE 77 TIMEOUT 180)
endforeach()
# Live: two `ftpinspect -i` sensors on two veth links in network namespaces (root only; skips
# otherwise), one capture played onto both links in its own timing, and with the control sensor
# stopped for a second (the data sensor looks up first).
add_test(NAME sensors.live
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/live_sensors.py $<TARGET_FILE:ftpinspect>
    ${PROJECT_SOURCE_DIR}/captures/vsftpd_data_from_other_ip.pcap
    ${PROJECT_SOURCE_DIR}/captures/vsftpd_lb_no_persistence.pcap
    ${PROJECT_SOURCE_DIR}/captures/vsftpd_lb_no_persistence_server_side.pcap)
set_tests_properties(sensors.live PROPERTIES LABELS "live;sensors" SKIP_RETURN_CODE 77
  TIMEOUT 300 RUN_SERIAL TRUE)
