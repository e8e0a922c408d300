#!/usr/bin/env sh
# Install (once), compile and run the TypeScript example against PYGENTIC_GRPC (default 127.0.0.1:50051):
#   clients/typescript/run.sh [model] [question]
set -eu
cd "$(dirname "$0")"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --silent --no-audit --no-fund
fi
npx tsc -p .
exec node dist/stream_run.js "$@"
