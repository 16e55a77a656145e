# SPDX-License-Identifier: BSD-2-Clause
# Invariance tests (label "invariance"): a capture rewritten by resegment.py must give the same
# sessions, data connections and findings (invariance.py). CI runs one mode per capture of
# captures/ and tests/crafted/, picked by a hash of the capture's name, so every capture is
# covered once and every mode on several captures; tests/invariance/matrix.sh runs every mode on
# every capture (and the public set). The split is recorded in tests/invariance/README.md.
set(FTPI_INV_MODES seg1 segrand reorder dup vlan qinq sll2 gre erspan2 tshift)
# IPv4 fragmentation: the defragmenter (decode/defrag.c) puts the conversation together again,
# so the events are those of the unfragmented capture.
set(FTPI_INV_FRAG vsftpd_plain_passive link_ether tunnel_gre)
# Cases that differ because of a library defect found by these tests (README.md, "Differences
# found"): CTest expects them to fail until the defect is fixed, then reports them, and they
# leave this list. (A), (B) and (C) are fixed (reasm counts held bytes when it stops reading;
# the data stage feeds the TLS reader the bytes it kept while deciding; the line framer holds
# the first bytes after a gap until the session can judge them): the list is empty.
set(FTPI_INV_KNOWN_FAIL)
# Cases run besides the one mode per capture ("mode.capture"): (A) shows only with some orders.
set(FTPI_INV_EXTRA reorder.vsftpd_plain_passive)

# resegment.py's frag mode needs scapy: the Debian python3 has it (python3-scapy); another
# python3 first on PATH (pyenv) may not.
set(FTPI_INV_PYTHON "")
foreach(py /usr/bin/python3 ${Python3_EXECUTABLE})
  if(NOT FTPI_INV_PYTHON AND EXISTS ${py})
    execute_process(COMMAND ${py} -c "import scapy" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
    if(rc EQUAL 0)
      set(FTPI_INV_PYTHON ${py})
    endif()
  endif()
endforeach()
if(NOT FTPI_INV_PYTHON)
  set(FTPI_INV_PYTHON ${Python3_EXECUTABLE}) # invariance.py then skips (77), saying why
endif()

file(GLOB FTPI_INV_CAPTURES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/captures/*.pcap
  ${PROJECT_SOURCE_DIR}/tests/crafted/*.pcap)
list(SORT FTPI_INV_CAPTURES)
list(LENGTH FTPI_INV_MODES n_modes)
function(ftpi_invariance_test mode cap)
  get_filename_component(n ${cap} NAME_WE)
  add_test(NAME invariance.${mode}.${n} COMMAND ${FTPI_INV_PYTHON}
    ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/invariance.py --ftpinspect $<TARGET_FILE:ftpinspect>
    --capture ${cap} --mode ${mode})
  set_tests_properties(invariance.${mode}.${n} PROPERTIES LABELS invariance SKIP_RETURN_CODE 77
    TIMEOUT 300)
  if("${mode}.${n}" IN_LIST FTPI_INV_KNOWN_FAIL)
    set_tests_properties(invariance.${mode}.${n} PROPERTIES WILL_FAIL TRUE)
  endif()
endfunction()
# Captures where the mode in turn applies to no packet get another one ("capture=mode").
set(FTPI_INV_OVERRIDE tcp_snaplen=vlan)
foreach(cap ${FTPI_INV_CAPTURES})
  get_filename_component(n ${cap} NAME_WE)
  # The mode follows from the capture's name (not its place in the list), so adding a capture
  # does not move the others to other modes.
  string(MD5 h ${n})
  string(SUBSTRING ${h} 0 6 h)
  math(EXPR k "0x${h} % ${n_modes}")
  list(GET FTPI_INV_MODES ${k} mode)
  foreach(o ${FTPI_INV_OVERRIDE})
    if(o MATCHES "^${n}=(.*)$")
      set(mode ${CMAKE_MATCH_1})
    endif()
  endforeach()
  ftpi_invariance_test(${mode} ${cap})
  if(n IN_LIST FTPI_INV_FRAG)
    ftpi_invariance_test(frag ${cap})
  endif()
  foreach(x ${FTPI_INV_EXTRA})
    if(x MATCHES "^([a-z0-9]+)\\.${n}$")
      ftpi_invariance_test(${CMAKE_MATCH_1} ${cap})
    endif()
  endforeach()
endforeach()
