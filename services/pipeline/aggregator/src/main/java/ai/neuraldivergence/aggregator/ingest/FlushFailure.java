package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.domain.DistributionCodec;
import java.io.IOException;
import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.errors.RetriableException;

/**
 * Whose fault a failed flush is, which decides what happens next: a transient failure is retried with backoff and
 * never dead-letters anything; a store failure is retried and alerted on; only a failure that recurs with the same
 * data is the data's, and then the delta is written in halves until the record at fault stands alone.
 */
enum FlushFailure {

    /** The database or the broker was unreachable, busy, or timed out: retry the same delta later. */
    TRANSIENT,
    /**
     * The store itself is at fault (a stored row that cannot be decoded, a failure with nothing of the data, an SQL
     * state no value can cause).
     */
    STORE,
    /** Possibly the data's: a second attempt decides. */
    DATA;

    // connection exceptions, transaction rollbacks (serialization, deadlock), insufficient resources, operator
    // intervention (shutdown, cancel), system errors (I/O)
    private static final Set<String> TRANSIENT_SQL_CLASSES = Set.of("08", "40", "53", "57", "58");

    static FlushFailure of(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof DistributionCodec.CorruptDistributionException) {
                return STORE;
            }
            if (t instanceof EventPublisher.DeadLetterUnavailableException) {
                return TRANSIENT;
            }
            if (t instanceof DeltaRecovery.StoreFailure) {
                return STORE;
            }
            if (t instanceof ai.neuraldivergence.storage.WindowDeltaStore.MissingPartitionException) {
                // a row found no partition (one retired or being detached meanwhile): the store's state, never the
                // data's; the next attempt makes the partition (its state says check_violation, a data class)
                return TRANSIENT;
            }
            if (t instanceof SQLException sql) {
                return isTransient(sql) ? TRANSIENT : isData(sql) ? DATA : STORE;
            }
            if (t instanceof IOException || t instanceof TimeoutException || t instanceof RetriableException
                    || t instanceof InterruptedException
                    || t instanceof org.apache.kafka.common.errors.TimeoutException) {
                return TRANSIENT;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return DATA;
    }

    // data exceptions (an out-of-range value, a NUL byte in text), integrity constraints, program limits (a row or
    // an array too large), and what a trigger or function raises: the states a row's values can cause. Any other
    // state (an undefined table, an internal error, a read-only database) is the store's and no record's.
    private static final Set<String> DATA_SQL_CLASSES = Set.of("22", "23", "54", "P0");

    private static boolean isData(SQLException e) {
        String state = e.getSQLState();
        return state.length() >= 2 && DATA_SQL_CLASSES.contains(state.substring(0, 2));
    }

    private static boolean isTransient(SQLException e) {
        String state = e.getSQLState();
        // no state: the pool or the driver (acquisition timeout, a closed connection), not the statement's data
        return state == null || e instanceof SQLTransientException || state.length() >= 2
                && TRANSIENT_SQL_CLASSES.contains(state.substring(0, 2));
    }

    /** "class: message", the message cut at 256 characters: what the dead-letter header says of a failure. */
    static String describe(Throwable failure) {
        Throwable root = failure;
        // the deepest cause says what the database refused; wrappers only say where
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = String.valueOf(root.getMessage());
        if (message.length() > 256) {
            message = message.substring(0, 256);
        }
        return root.getClass().getSimpleName() + ": " + message;
    }
}
