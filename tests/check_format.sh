#!/bin/sh
# Fails when a C++ source under the checkout is not as clang-format (with
# the root .clang-format) would write it, naming the file and line.
# Usage: check_format.sh CLANG_FORMAT SOURCE_DIR
set -eu
clang_format=$1
cd "$2"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files '*.cc' '*.h')
else
  files=$(find . -path ./build -prune -o \( -name '*.cc' -o -name '*.h' \) -print)
fi
# shellcheck disable=SC2086
"$clang_format" --dry-run --Werror $files
echo "clang-format: $(echo "$files" | wc -l) files clean"
