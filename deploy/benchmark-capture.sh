#!/usr/bin/env bash
# Measures what activation capture costs (see CaptureBenchmark): plain DJL predict vs predict + capture + publish
# to a real Kafka broker, at batch 1 and 64, and RSS after 100,000 predictions. Starts its own Kafka and
# PostgreSQL (the local launcher) on spare ports in a temporary folder, and stops them afterwards.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./mvnw -B -q install -DskipTests -pl services/pipeline/inference,deploy/launcher -am
CP=$(./mvnw -B -q -pl services/pipeline/inference dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=/dev/stdout)
# shellcheck source=deploy/benchmark-infrastructure.sh
. deploy/benchmark-infrastructure.sh
# the heap of a production inference service: native tensors are freed at GC, so it stays small
# the classpath brings Quarkus' log manager (jboss-logmanager): choose it before anything logs, as the tests do,
# or its LoggerFinder prints an ERROR that java.util.logging was set up first; and at INFO, for Quarkus' initial
# configurator (on the classpath too) lets every level through until a Quarkus application sets logging up: the
# PostgreSQL driver then traces every protocol message, which made the compression benchmark's flushes 3 times slower
TF_CPP_MIN_LOG_LEVEL=2 java -Xmx256m -Djava.util.logging.manager=org.jboss.logmanager.LogManager \
  -Dlogging.initial-configurator.min-level=INFO \
  -cp "services/pipeline/inference/target/test-classes:services/pipeline/inference/target/classes:$CP" \
  ai.neuraldivergence.inference.bench.CaptureBenchmark services/tooling/model-builder/target/mnist-cnn/saved_model \
  127.0.0.1:19092
