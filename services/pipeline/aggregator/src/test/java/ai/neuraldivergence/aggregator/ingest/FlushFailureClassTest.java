package ai.neuraldivergence.aggregator.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.neuraldivergence.domain.DistributionCodec;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/**
 * Whose fault a failed flush is decides whether a record is dead-lettered: only what a record's values can cause is
 * looked into record by record; a store that is broken or away must never cost a record.
 */
class FlushFailureClassTest {

    private static RuntimeException wrapped(SQLException e) {
        // how the stores report a failure: the SQL exception as the cause of their own
        return new IllegalStateException("writing a flush", e);
    }

    @Test
    void whatAValueCanCauseIsTheData() {
        for (String state : new String[] {"22021", "22008", "23514", "23505", "54000", "P0001"}) {
            assertEquals(FlushFailure.DATA, FlushFailure.of(wrapped(new SQLException("refused", state))), state);
        }
        // a value the encoder cannot write (an instant past what PostgreSQL's binary format holds)
        assertEquals(FlushFailure.DATA, FlushFailure.of(new ArithmeticException("long overflow")));
    }

    @Test
    void anUnreachableOrBusyStoreIsTransient() {
        for (String state : new String[] {"08006", "40001", "40P01", "53300", "57P01", "58030"}) {
            assertEquals(FlushFailure.TRANSIENT, FlushFailure.of(wrapped(new SQLException("away", state))), state);
        }
        // the pool gave no connection: no state at all
        assertEquals(FlushFailure.TRANSIENT, FlushFailure.of(wrapped(new SQLException("acquisition timeout"))));
        assertEquals(FlushFailure.TRANSIENT, FlushFailure.of(new UncheckedIOException(new java.io.IOException("x"))));
        assertEquals(FlushFailure.TRANSIENT,
                FlushFailure.of(new EventPublisher.DeadLetterUnavailableException("broker away", null)));
        // a row that found no partition (check_violation, as a value could cause): the partition is made at the
        // next attempt, and no record is to blame
        SQLException noPartition = new SQLException("no partition of relation \"recent_observation\" found for row",
                "23514");
        assertEquals(FlushFailure.TRANSIENT, FlushFailure.of(wrapped(
                ai.neuraldivergence.storage.WindowDeltaStore.missingPartition(noPartition))));
    }

    @Test
    void aBrokenStoreIsTheStoresAndNoRecords() {
        // an undefined table (a migration not run), an internal error, a read-only standby, a corrupt stored row
        for (String state : new String[] {"42P01", "XX000", "25006", "55000"}) {
            assertEquals(FlushFailure.STORE, FlushFailure.of(wrapped(new SQLException("broken", state))), state);
        }
        assertEquals(FlushFailure.STORE, FlushFailure.of(
                new DistributionCodec.CorruptDistributionException("truncated row")));
    }

    @Test
    void aDeadLetterSaysWhatTheDatabaseRefusedInAtMost256Characters() {
        String text = FlushFailure.describe(wrapped(new SQLException("x".repeat(1000), "22021")));
        assertEquals("SQLException: " + "x".repeat(256), text);
    }
}
