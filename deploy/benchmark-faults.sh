#!/usr/bin/env bash
# The fault matrix (see FaultBenchmark): a known stream of 48,000 observations through the packaged aggregator
# while one fault is injected at a time (SIGKILL x 20, a Kafka broker restart, a PostgreSQL restart, poison of each
# kind written straight to Kafka, three instances with one killed and one added), then every stored minute checked
# against what was sent. Prints one table: fault, observations sent, stored, lost, dead-lettered, exact.
# Kafka and PostgreSQL run inside the benchmark's JVM (as in the tests); takes about ten minutes.
#
#   deploy/benchmark-faults.sh [BATCHES]   batches of 20 observations, 2,400 by default
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./mvnw -B -q install -DskipTests
CP=$(./mvnw -B -q -pl services/harness/end-to-end dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=/dev/stdout)
cd services/harness/end-to-end
# the classpath brings Quarkus' log manager (jboss-logmanager): choose it before anything logs, as the tests do,
# or its LoggerFinder prints an ERROR that java.util.logging was set up first; and at INFO, for Quarkus' initial
# configurator (on the classpath too) lets every level through until a Quarkus application sets logging up: the
# PostgreSQL driver then traces every protocol message, which made the compression benchmark's flushes 3 times slower
java -Xmx2g -Djava.util.logging.manager=org.jboss.logmanager.LogManager \
  -Dlogging.initial-configurator.min-level=INFO -Dnd.services.dir=../.. \
  -cp "target/test-classes:$CP" ai.neuraldivergence.endtoend.FaultBenchmark "$@"
