package ai.neuraldivergence.storage;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Collection;
import java.util.UUID;

/**
 * Transaction-scoped PostgreSQL advisory locks on keys that may not exist as rows yet. {@code SELECT ... FOR UPDATE}
 * locks nothing while a row is absent, so two transactions creating the same window would each insert and the
 * second would overwrite the first; a lock on the key's hash serializes them whether the row exists or not.
 *
 * <p>Keys are hashed to 64 bits (the first half of an MD5 name UUID): a collision only makes two unrelated writers
 * wait for each other. Locks are taken in ascending order in one statement, so that two transactions locking
 * overlapping sets cannot deadlock on them; a lock already held by the transaction is taken again at no cost.
 *
 * <p>Each lock held takes a slot of PostgreSQL's shared lock table until the transaction ends: callers bound how
 * many keys one transaction locks (windows per flush, minutes per roll-up, instance buckets).
 */
final class AdvisoryLocks {

    private AdvisoryLocks() {
    }

    /**
     * Locks every key until the caller's transaction ends; each key is prefixed by its kind (the table).
     */
    static void lock(Connection c, String kind, Collection<String> keys) throws SQLException {
        lockAll(c, kind, keys, "pg_advisory_xact_lock");
    }

    /**
     * {@link #lock}, shared: any number of transactions hold a key together, and one that locks it exclusively waits
     * for them all (and they for it).
     */
    static void lockShared(Connection c, String kind, Collection<String> keys) throws SQLException {
        lockAll(c, kind, keys, "pg_advisory_xact_lock_shared");
    }

    private static void lockAll(Connection c, String kind, Collection<String> keys, String function)
            throws SQLException {
        if (keys.isEmpty()) {
            return;
        }
        Long[] hashes = keys.stream().map(k -> hash(kind, k)).distinct().sorted().toArray(Long[]::new);
        try (PreparedStatement ps = c.prepareStatement("SELECT count(" + function + "(k)) FROM (SELECT "
                + "unnest(?::bigint[]) AS k ORDER BY 1) keys")) {
            ps.setArray(1, c.createArrayOf("bigint", hashes));
            ps.executeQuery().close();
        }
    }

    /** Locks {@code key} until the caller's transaction ends if no one else holds it; false (and nothing held) if so. */
    static boolean tryLock(Connection c, String kind, String key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_xact_lock(?)")) {
            ps.setLong(1, hash(kind, key));
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private static long hash(String kind, String key) {
        return hash(kind + '\u0000' + key);
    }

    /**
     * Locks the buckets of {@code keys}: at most {@code buckets} locks whatever the number of keys, for key sets
     * that grow with traffic (one per observation kept); keys of one bucket wait for each other.
     */
    static void lockBuckets(Connection c, String kind, Collection<String> keys, int buckets) throws SQLException {
        lock(c, kind, keys.stream().map(k -> Integer.toString(Math.floorMod(hash(k), buckets))).distinct()
                .toList());
    }

    static long hash(String key) {
        return UUID.nameUUIDFromBytes(key.getBytes(StandardCharsets.UTF_8)).getMostSignificantBits();
    }
}
