package ai.neuraldivergence.aggregator.ingest;

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
        if (!isName(in.getModelId()) || !isName(in.getModelVersion()) || !isName(in.getInstanceId())) {
            return Optional.of("a CapturedInput needs model_id, model_version and instance_id (1..128 printable "
                    + "characters)");
        }
        if (!in.hasEventTime() || in.getEventTime().getSeconds() <= 0) {
            return Optional.of("a CapturedInput needs event_time");
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

    private static boolean isName(String s) {
        return !s.isEmpty() && s.length() <= 128 && s.chars().noneMatch(Character::isISOControl);
    }
}
