#!/bin/sh
# Run C test programs one after another and report; the last line is "N passed, M failed".
# Usage: run.sh PROGRAM...   with $CS_TEST_WRAPPER (say, a valgrind command) put in front of each.
passed=0
failed=0
for program in "$@"; do
    name=$(basename "$program")
    if output=$($CS_TEST_WRAPPER "$program" 2>&1); then
        passed=$((passed + 1))
        echo "PASS $name: $(printf '%s\n' "$output" | tail -n 1)"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        printf '%s\n' "$output" | sed 's/^/    /'
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
