#!/bin/sh
# The curlimages/curl image's /entrypoint.sh, as the sandbox needs it: arguments that are not a
# command (options, or a word with no program of that name) are given to curl; a command runs as is.
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ]; then
  set -- curl "$@"
fi
exec "$@"
