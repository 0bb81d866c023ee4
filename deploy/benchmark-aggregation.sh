#!/usr/bin/env bash
# Measures what aggregation costs (see AggregationBenchmark): the raw KLL update rate against the end-to-end rate
# of sketch updates from Kafka to committed PostgreSQL through the packaged aggregator. Starts its own Kafka and
# PostgreSQL (the local launcher) on spare ports in a temporary folder, and stops them afterwards.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./mvnw -B -q install -DskipTests -pl services/aggregator,deploy/launcher -am
CP=$(./mvnw -B -q -pl services/aggregator dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=/dev/stdout)
# shellcheck source=deploy/benchmark-infrastructure.sh
. deploy/benchmark-infrastructure.sh
java -Xmx2g -cp "services/aggregator/target/test-classes:services/aggregator/target/classes:$CP" \
  ai.neuraldivergence.aggregator.bench.AggregationBenchmark \
  services/aggregator/target/quarkus-app/quarkus-run.jar 127.0.0.1:19092 \
  jdbc:postgresql://127.0.0.1:15432/neuraldivergence neuraldivergence neuraldivergence
