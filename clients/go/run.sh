#!/usr/bin/env sh
# Build and run the Go example against PYGENTIC_GRPC (default 127.0.0.1:50051):
#   clients/go/run.sh [model] [question]
# GOPATH mode with Debian's Go packages (golang-go golang-google-grpc-dev golang-google-protobuf-dev
# golang-github-golang-protobuf-1-5-dev), for machines without a Go module proxy. With module access,
# `cd clients/go && go mod tidy && go run ./examples/streamrun` works as well.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
gopath="$here/.gopath"
link="$gopath/src/github.com/pygentic/pygentic/clients/go"
if [ ! -e "$link" ]; then
  mkdir -p "$(dirname "$link")"
  ln -s "$here" "$link"
fi
export GOPATH="$gopath:${PYGENTIC_GOPATH_EXTRA:-/usr/share/gocode}" GO111MODULE=off
export GOCACHE="${GOCACHE:-$gopath/cache}"
go build -o "$gopath/bin/streamrun" github.com/pygentic/pygentic/clients/go/examples/streamrun
exec "$gopath/bin/streamrun" "$@"
