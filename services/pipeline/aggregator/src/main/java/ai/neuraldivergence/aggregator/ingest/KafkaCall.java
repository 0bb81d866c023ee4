package ai.neuraldivergence.aggregator.ingest;

/**
 * Reads from a thread's stack whether it is inside a Kafka client call right now: its innermost frame that is not
 * the JDK's is the Kafka client's. A consumer thread can be stuck for a long time for good reasons (waiting for a
 * delta's write, a database read under its network timeout); only a Kafka call may be woken ({@code wakeup()}), and
 * none of the consumer thread's Kafka calls has a reason to last past the stall warning.
 */
final class KafkaCall {

    private KafkaCall() {
    }

    /** True when the innermost frame outside the JDK belongs to the Kafka client. */
    static boolean onTop(StackTraceElement[] stack) {
        for (StackTraceElement frame : stack) {
            String type = frame.getClassName();
            if (isJdk(type)) {
                continue;
            }
            return type.startsWith("org.apache.kafka.");
        }
        return false;
    }

    private static boolean isJdk(String type) {
        return type.startsWith("java.") || type.startsWith("javax.") || type.startsWith("jdk.")
                || type.startsWith("sun.");
    }
}
