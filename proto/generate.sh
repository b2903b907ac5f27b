#!/usr/bin/env bash
# The tooling of Motif's API (see README.md). Every tool is pinned in
# ../internal/tools/go.mod and run with `go tool`, so nothing but Go needs to
# be installed: the first run builds the tools from the module proxy, later
# runs take them from the Go build cache.
#
#   proto/generate.sh            format and lint the .proto files, regenerate gen/
#   proto/generate.sh check      what CI runs: lint, format, breaking-change
#                                check against the baseline, gen/ current
#   proto/generate.sh baseline   record the current API as the baseline of the
#                                breaking-change check (an intended break)
set -euo pipefail
cd "$(dirname "$0")"

tools=../internal/tools/go.mod
buf() { go tool -modfile="$tools" buf "$@"; }
baseline=breaking/baseline.binpb

# Compile every tool in one build first: with a cold build cache that is
# about a third faster on two cores than letting each `go tool` compile its
# own, and with a warm one it takes seconds.
go build -modfile="$tools" tool

case "${1:-generate}" in
generate)
	buf format -w
	buf lint
	buf generate
	;;
check)
	buf lint
	if ! buf format --diff --exit-code; then
		echo "the .proto files are not formatted: run proto/generate.sh" >&2
		exit 1
	fi
	buf breaking --against "$baseline"
	buf generate
	if [ -n "$(git status --porcelain -- gen)" ]; then
		echo "proto/gen differs from what proto/generate.sh generates: run it and commit the result" >&2
		git status --porcelain -- gen >&2
		exit 1
	fi
	;;
baseline)
	mkdir -p "$(dirname "$baseline")"
	buf build --exclude-source-info -o "$baseline"
	;;
*)
	echo "usage: proto/generate.sh [generate|check|baseline]" >&2
	exit 2
	;;
esac
