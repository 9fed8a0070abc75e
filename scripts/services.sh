#!/usr/bin/env bash
# Start the services the test suite needs (PostgreSQL on 127.0.0.1:5432, Redis on
# 127.0.0.1:6379) where they are not already running, using the binaries installed on
# this machine. Prints what it did.
set -euo pipefail

port_open() {  # host port
  python3 - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}

wait_for() {  # name host port
  for _ in $(seq 1 30); do
    port_open "$2" "$3" && { echo "services: $1 is up on $2:$3"; return 0; }
    sleep 1
  done
  echo "services: $1 did not come up on $2:$3" >&2
  return 1
}

if port_open 127.0.0.1 5432; then
  echo "services: PostgreSQL already running on 127.0.0.1:5432"
elif command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "services: starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for PostgreSQL 127.0.0.1 5432
else
  echo "services: PostgreSQL is not running and not installed (apt-get install postgresql);" \
       "the PostgreSQL half of the suite will fail" >&2
fi

if port_open 127.0.0.1 6379; then
  echo "services: Redis already running on 127.0.0.1:6379"
elif command -v redis-server >/dev/null 2>&1; then
  echo "services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  wait_for Redis 127.0.0.1 6379
else
  echo "services: Redis is not running and not installed (apt-get install redis-server);" \
       "the distributed-mode tests will fail" >&2
fi
