# SPDX-License-Identifier: BSD-2-Clause
# Packaging tests (label "packaging"):
#  - packaging.manpage: libftpinspect(3) renders without groff warnings and lists every public
#    function (manpage.sh);
#  - packaging.consumer: install the lib and dev components into a temporary prefix, build
#    tests/packaging/consumer.c with find_package(ftpinspect) and with pkg-config, run it, move
#    the prefix and do it again (consumer.sh). Under FTPI_SANITIZE the consumer gets the same
#    -fsanitize flags as the library.
add_test(NAME packaging.manpage COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/manpage.sh
  ${PROJECT_SOURCE_DIR})
set_tests_properties(packaging.manpage PROPERTIES LABELS packaging)

if(NOT TARGET ftpinspect_shared OR NOT TARGET ftpinspect_static)
  message(STATUS "Packaging tests: not registered (they need FTPI_BUILD_SHARED and _STATIC)")
  return()
endif()
add_test(NAME packaging.consumer COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/consumer.sh
  ${PROJECT_BINARY_DIR} ${CMAKE_CURRENT_BINARY_DIR}/packaging-consumer ${CMAKE_C_COMPILER}
  ${FTPI_WITH_NDPI} "${FTPI_SANITIZE}")
set_tests_properties(packaging.consumer PROPERTIES LABELS packaging TIMEOUT 300)

# packaging.deb: cpack -G DEB, the packages' contents and control fields, then the packages
# unpacked into a throw-away root: the tool runs on a lab capture and the consumer builds against
# the unpacked -dev package (deb.sh). Not under sanitizers: packages are made from plain builds.
if(FTPI_SANITIZE OR NOT FTPI_BUILD_TOOLS)
  return()
endif()
find_program(FTPI_DPKG_DEB dpkg-deb)
if(NOT FTPI_DPKG_DEB)
  message(STATUS "packaging.deb: not registered (no dpkg-deb)")
  return()
endif()
set(_ftpi_ws_pkgdir "")
if(TARGET ftpinspect_wireshark)
  set(_ftpi_ws_pkgdir ${FTPI_WIRESHARK_PLUGIN_INSTALL_DIR})
endif()
add_test(NAME packaging.deb COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/deb.sh ${PROJECT_BINARY_DIR}
  ${CMAKE_CURRENT_BINARY_DIR}/packaging-deb ${PROJECT_SOURCE_DIR} ${CMAKE_C_COMPILER}
  ${CMAKE_INSTALL_LIBDIR} ${FTPI_EXTCAP_INSTALL_DIR} ${_ftpi_ws_pkgdir})
set_tests_properties(packaging.deb PROPERTIES LABELS packaging TIMEOUT 300)
