#!/usr/bin/env bash
# Measures what comparison queries cost (see ComparisonBenchmark): 24 hours of minute windows of a 1,024-neuron tap
# at 1,000 observations a minute per side, read through the packaged comparison service over gRPC; (a) a live query
# repeated while windows commit, (b) 200 distinct hour-aligned ranges, (c) SciPy on the raw samples. Starts its own
# Kafka and PostgreSQL (the local launcher) on spare ports in a temporary folder, and stops them afterwards.
# Needs python3-scipy for (c). Takes about five minutes and 10 GB of temporary disk.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
/usr/bin/python3 -c 'import scipy' 2>/dev/null || { echo "python3-scipy is missing: apt-get install -y python3-scipy"; exit 1; }
./mvnw -B -q install -DskipTests -pl services/pipeline/comparison,deploy/launcher -am
CP=$(./mvnw -B -q -pl services/pipeline/comparison dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=/dev/stdout)
# shellcheck source=deploy/benchmark-infrastructure.sh
. deploy/benchmark-infrastructure.sh
# the classpath brings Quarkus' log manager (jboss-logmanager): choose it before anything logs, as the tests do,
# or its LoggerFinder prints an ERROR that java.util.logging was set up first; and at INFO, for Quarkus' initial
# configurator (on the classpath too) lets every level through until a Quarkus application sets logging up: the
# PostgreSQL driver then traces every protocol message, which made the compression benchmark's flushes 3 times slower
java -Xmx4g -Djava.util.logging.manager=org.jboss.logmanager.LogManager \
  -Dlogging.initial-configurator.min-level=INFO \
  -cp "services/pipeline/comparison/target/test-classes:services/pipeline/comparison/target/classes:$CP" \
  ai.neuraldivergence.comparison.bench.ComparisonBenchmark \
  services/pipeline/comparison/target/quarkus-app/quarkus-run.jar 127.0.0.1:19092 \
  jdbc:postgresql://127.0.0.1:15432/neuraldivergence neuraldivergence neuraldivergence \
  services/pipeline/comparison/src/test/resources/scipy_bench.py
