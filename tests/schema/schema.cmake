# SPDX-License-Identifier: BSD-2-Clause
# JSON schema tests (label "schema"): the CLI's JSON output of every test capture validates
# against docs/events.schema.json (lab = captures/, crafted = tests/crafted/ and tests/cli/data/,
# public = ../shared/captures-public/, skipped when absent), and the schema agrees with
# docs/events.md (doc). See validate_events.py. Included from tests/CMakeLists.txt when the CLI
# is built and Python 3 was found.
foreach(set lab crafted public doc)
  add_test(NAME schema.${set} COMMAND ${Python3_EXECUTABLE}
    ${CMAKE_CURRENT_LIST_DIR}/validate_events.py --ftpinspect $<TARGET_FILE:ftpinspect>
    --source ${PROJECT_SOURCE_DIR} ${set})
  set_tests_properties(schema.${set} PROPERTIES LABELS schema SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
