package ai.neuraldivergence.aggregator.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.SQLException;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class FatalCauseTest {

    @Test
    void anOutOfMemoryErrorWrappedByTheKafkaClientIsFatal() {
        OutOfMemoryError oom = new OutOfMemoryError("Java heap space");
        RuntimeException heartbeat = new RuntimeException(oom);
        assertSame(oom, FatalCause.of(heartbeat).orElseThrow());
        assertSame(oom, FatalCause.of(new IllegalStateException("flush", heartbeat)).orElseThrow());
        assertSame(oom, FatalCause.of(oom).orElseThrow());
    }

    @Test
    void aStoreOrRecordFailureIsNot() {
        assertEquals(Optional.empty(), FatalCause.of(new IllegalStateException(new SQLException("08006"))));
        assertEquals(Optional.empty(), FatalCause.of(new AssertionError("not a VM failure")));
    }

    @Test
    void aCycleInTheCausesEnds() {
        RuntimeException a = new RuntimeException("a");
        RuntimeException b = new RuntimeException("b", a);
        a.initCause(b);
        assertTrue(FatalCause.of(a).isEmpty());
    }
}
