#!/usr/bin/env bash
# How fast each way of deciding an alarm sees a change, and how often it cries wolf: days of simulated traffic
# through the monitors' own domain classes (MinuteEvaluation, MonitorRun), in process, from the real model's
# activations recorded once on every pool (held-out digits, FGSM/PGD attacked digits, Fashion-MNIST, noisy and
# rotated digits). Methods: fixed mean-KS thresholds 0.10 and 0.15, mean + 3 sd of reference chunks, the calibrated
# KS monitor and the calibrated layer (MMD²) monitor, each at the default false-alarm budget and at one a day.
# Prints the runtime and writes a Markdown report (services/tooling/detection-benchmark/target/detection-report.md).
#
# Options (passed through): --rates 1,5,20,100  --days 7 (benign days per rate, for false alarms)
#   --separate-days 7 (the benign run that sets matched thresholds)  --training-days 1 (against the training
#   reference)  --onsets 10 (per scenario and rate)  --seed 1  --threads (the cores)  --report FILE
# The defaults are the full run: 72 minutes on 2 cores (measured 2026-12-04, docs/benchmarks.md). A quick look:
# --rates 5 --days 1 --separate-days 1 --onsets 2 (a few minutes).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./mvnw -B -q install -DskipTests -pl services/tooling/detection-benchmark -am
CP=$(./mvnw -B -q -pl services/tooling/detection-benchmark dependency:build-classpath -Dmdep.outputFile=/dev/stdout)
started=$(date +%s)
TF_CPP_MIN_LOG_LEVEL=2 java -Xmx3g -cp "services/tooling/detection-benchmark/target/classes:$CP" \
  -Dnd.model.dir=services/tooling/model-builder/target/mnist-cnn \
  ai.neuraldivergence.detection.DetectionBenchmark "$@"
echo "detection benchmark: $(( $(date +%s) - started )) s"
