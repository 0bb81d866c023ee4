package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.contract.ActivationBatchValidator;
import ai.neuraldivergence.proto.v1.CapturedInput;
import java.util.Optional;

/** What makes a {@link CapturedInput} record storable. */
final class CapturedInputs {

    /** Larger than any image a monitored model takes as one input; bounds one row of the store. */
    static final int MAX_PNG_BYTES = 1 << 20;
    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private CapturedInputs() {
    }

    static Optional<String> problem(CapturedInput in) {
        Optional<String> names = ActivationBatchValidator.nameProblem("model_id", in.getModelId())
                .or(() -> ActivationBatchValidator.nameProblem("model_version", in.getModelVersion()))
                .or(() -> ActivationBatchValidator.nameProblem("instance_id", in.getInstanceId()));
        if (names.isPresent()) {
            return Optional.of("CapturedInput " + names.get());
        }
        if (!in.hasEventTime() || in.getEventTime().getSeconds() <= 0) {
            return Optional.of("a CapturedInput needs event_time");
        }
        Optional<String> time = ActivationBatchValidator.timestampProblem("event_time", in.getEventTime());
        if (time.isPresent()) {
            return Optional.of("CapturedInput " + time.get());
        }
        int size = in.getPng().size();
        if (size > MAX_PNG_BYTES) {
            return Optional.of("the input image is " + size + " bytes; at most " + MAX_PNG_BYTES);
        }
        if (size < PNG_SIGNATURE.length || !in.getPng().substring(0, PNG_SIGNATURE.length)
                .equals(com.google.protobuf.ByteString.copyFrom(PNG_SIGNATURE))) {
            return Optional.of("the input is not a PNG image");
        }
        return Optional.empty();
    }

}
