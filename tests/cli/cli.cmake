# SPDX-License-Identifier: BSD-2-Clause
# CLI tests of ftpinspect (label "cli"): options, exit statuses and messages, every output format,
# read back with Python's standard library and tshark when present. Live capture tests (label
# "live") need root and network namespaces; they skip (77) otherwise.
set(FTPI_CLI_TESTS help version missing_file bad_files limits not_a_pcap truncated unknown_interface
  live_root_refused bad_filter bad_flag bad_passive_range bad_config config json verbose text
  hostile zeek pcapng_out pcapng_keep_comments fail_on stdin gzip multiple_files summary
  stats_flows_count signals progress duration no_progress closed_pipe full_disk growing_file
  tcpdump_habits no_color sighup community_id eve_timestamp log_dir
  zeek_commands log_dir_sighup config_ini report file_hashes zeek_file_ids zeek_pipelined
  workers_auto)

if(NOT Python3_Interpreter_FOUND)
  find_package(Python3 COMPONENTS Interpreter)
endif()

# cli.NAME runs tests/cli/SCRIPT with ftpinspect's path and the remaining arguments (label cli,
# 120 s); nothing without Python.
function(ftpi_cli_script name script)
  if(Python3_Interpreter_FOUND)
    add_test(NAME cli.${name} COMMAND ${Python3_EXECUTABLE}
      ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/${script} $<TARGET_FILE:ftpinspect> ${ARGN})
    set_tests_properties(cli.${name} PROPERTIES LABELS cli TIMEOUT 120)
  endif()
endfunction()
if(Python3_Interpreter_FOUND)
  foreach(t ${FTPI_CLI_TESTS})
    add_test(NAME cli.${t}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/cli_test.py
        $<TARGET_FILE:ftpinspect> ${t})
    set_tests_properties(cli.${t} PROPERTIES LABELS cli TIMEOUT 120 SKIP_RETURN_CODE 77)
  endforeach()
endif()

add_test(NAME cli.live COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/live.sh $<TARGET_FILE:ftpinspect>)
set_tests_properties(cli.live PROPERTIES LABELS live SKIP_RETURN_CODE 77 TIMEOUT 300
  RUN_SERIAL TRUE)

add_test(NAME cli.live_tool
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/live_tool.sh $<TARGET_FILE:ftpinspect>)
set_tests_properties(cli.live_tool PROPERTIES LABELS live SKIP_RETURN_CODE 77 TIMEOUT 120
  RUN_SERIAL TRUE)

# ftp.log against Zeek's own btest baselines (facts in the script; skips without
# ../shared/captures-public).
ftpi_cli_script(zeek_baselines zeek_baselines.py)
if(TEST cli.zeek_baselines)
  set_tests_properties(cli.zeek_baselines PROPERTIES SKIP_RETURN_CODE 77)
endif()

# The event line writer against jansson and its own slow path (byte classes in every lane).
add_executable(test_jsonw ${CMAKE_CURRENT_LIST_DIR}/test_jsonw.c
  ${PROJECT_SOURCE_DIR}/tools/ftpinspect/jsonw.c)
target_link_libraries(test_jsonw PRIVATE ftpi_cli_common)
add_test(NAME cli.jsonw COMMAND test_jsonw)
set_tests_properties(cli.jsonw PROPERTIES LABELS cli)
# The id index (cli_idx) and the text format's held sessions against models (colliding ids,
# wrapping runs, growth).
add_executable(test_text ${CMAKE_CURRENT_LIST_DIR}/test_text.c
  ${PROJECT_SOURCE_DIR}/tools/ftpinspect/jsonw.c)
target_link_libraries(test_text PRIVATE ftpi_cli_common)
add_test(NAME cli.text_held_index COMMAND test_text)
set_tests_properties(cli.text_held_index PROPERTIES LABELS cli)
# Data connection lines under their sessions' lines, hundreds of sessions held at once.
ftpi_cli_script(text_held text_held.py ${CMAKE_CURRENT_BINARY_DIR}/text_held_corpus.pcap)
# ftp.log rows for every session with thousands open at once (the Zeek writer's index).
ftpi_cli_script(zeek_open_sessions zeek_open.py ${CMAKE_CURRENT_BINARY_DIR}/zeek_open_corpus.pcap)
# What --workers auto resolves to, by cores and input (opts.c).
add_executable(test_workers_auto ${CMAKE_CURRENT_LIST_DIR}/test_workers_auto.c)
target_link_libraries(test_workers_auto PRIVATE ftpi_cli_common)
add_test(NAME cli.workers_auto_table COMMAND test_workers_auto)
set_tests_properties(cli.workers_auto_table PROPERTIES LABELS cli)
add_executable(test_cid ${CMAKE_CURRENT_LIST_DIR}/test_cid.c)
target_link_libraries(test_cid PRIVATE ftpi_cli_common)
add_test(NAME cli.community_id_memo COMMAND test_cid)
set_tests_properties(cli.community_id_memo PROPERTIES LABELS cli)
# How a savefile is read (capture.c: a large stdio buffer, ahead on a second thread) and events
# written to a file (main.c: a large buffer): read() and write() calls counted under strace, the
# events compared however the file is read.
ftpi_cli_script(read_calls read_calls.py
  ${PROJECT_SOURCE_DIR}/captures/vsftpd_lossy_large_retr.pcap ${CMAKE_CURRENT_BINARY_DIR})
if(TEST cli.read_calls)
  set_tests_properties(cli.read_calls PROPERTIES SKIP_RETURN_CODE 77)
endif()
