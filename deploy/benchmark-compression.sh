#!/usr/bin/env bash
# Decides how stored distributions should be compressed (issue 15; see CompressionBenchmark): writes sketch rows and
# raw delta rows of post-ReLU and dense activations with no compression, the server's pglz, the server's lz4 (where
# it has it) and deflate or LZ4 in the codec, and prints bytes stored, WAL, flush p50/p95, codec CPU and the time to
# read a day of one tap, then the option the issue's rule picks.
#
#   deploy/benchmark-compression.sh            an embedded PostgreSQL 14 (the tests' binaries: pglz only), then a
#                                              throwaway cluster of a locally installed PostgreSQL (Debian's
#                                              postgresql package has lz4), if there is one (PG_BIN=its bin folder)
#   deploy/benchmark-compression.sh --jdbc-url URL --user USER --password PASSWORD
#                                              a server of yours instead (the user needs CREATEDB: the benchmark
#                                              creates and drops a database of its own)
#   ... --samples FILE.csv                     also writes every flush and read timing
#
# About four to five minutes with both servers on two cores; writes about 3 GB per server, dropped afterwards.
# MAVEN_ARGS=-o builds offline.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./mvnw -B -q test-compile dependency:build-classpath -pl services/core/storage -am -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/benchmark.classpath
CP="services/core/storage/target/test-classes:services/core/storage/target/classes"
CP="$CP:$(cat services/core/storage/target/benchmark.classpath)"

ARGS=("$@")
if [[ " $* " != *" --jdbc-url "* && " $* " != *" --embedded "* ]]; then
  ARGS+=(--embedded)
  PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
  if [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ]; then
    PG_RUN=$(mktemp -d)
    # PostgreSQL refuses to run as root: as root, the throwaway cluster belongs to the postgres user
    as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    if [ "$(id -u)" = 0 ]; then chown postgres "$PG_RUN"; fi
    trap 'as_pg "$PG_BIN/pg_ctl" -D "$PG_RUN/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$PG_RUN"' EXIT
    # the server's own defaults otherwise (fsync, synchronous_commit, shared_buffers), as a fresh install has them
    as_pg "$PG_BIN/initdb" -D "$PG_RUN/data" -U postgres -A trust --no-sync >/dev/null
    as_pg "$PG_BIN/pg_ctl" -D "$PG_RUN/data" -l "$PG_RUN/postgres.log" -w \
      -o "-p 15433 -k $PG_RUN -c listen_addresses=127.0.0.1" start >/dev/null
    ARGS+=(--jdbc-url jdbc:postgresql://127.0.0.1:15433/postgres --user postgres --password ""
      --label "local PostgreSQL, a throwaway cluster")
  else
    echo "no local PostgreSQL server found (apt-get install postgresql, or set PG_BIN): server lz4 is measured only" \
      "where the embedded one has it"
  fi
fi
# the classpath brings Quarkus' log manager (jboss-logmanager): choose it before anything logs, as the tests do,
# or its LoggerFinder prints an ERROR that java.util.logging was set up first; and at INFO, for Quarkus' initial
# configurator (on the classpath too) lets every level through until a Quarkus application sets logging up: the
# PostgreSQL driver then traces every protocol message, which made the compression benchmark's flushes 3 times slower
java -Xmx3g -Djava.util.logging.manager=org.jboss.logmanager.LogManager \
  -Dlogging.initial-configurator.min-level=INFO -cp "$CP" \
  ai.neuraldivergence.storage.bench.CompressionBenchmark "${ARGS[@]}"
