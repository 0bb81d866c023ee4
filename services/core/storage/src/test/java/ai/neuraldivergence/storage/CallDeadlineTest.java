package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A call's deadline and cancellation bound all of a cursor read, not only its first fetch: the driver's query
 * timeout stops at the execution, while a read of many days fetches its rows a few at a time, each fetch a round
 * trip of its own. The reads here sleep in the server per row, as a slow plan or a busy disk would.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CallDeadlineTest {

    private static final DataSource DATABASE = CallDeadline.bounding(MigratedDatabase.create("call_deadline"));

    /** Reads the rows of {@code sql} as the stores stream them (a read-only cursor), counting them. */
    private static void stream(String sql, AtomicInteger rows) throws SQLException {
        try (Connection c = DATABASE.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            TapWindowStore.streamed(c, ps);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.incrementAndGet();
                }
            } finally {
                c.rollback();
                c.setReadOnly(false);
                c.setAutoCommit(true);
            }
        }
    }

    @Test
    void aCursorReadOfManyQuickFetchesStopsAtTheDeadline() {
        AtomicInteger rows = new AtomicInteger();
        long start = System.nanoTime();
        // 40 fetches of 8 rows at 0.25 s a fetch: 10 s of reading, each fetch well within the time left
        try (var bounded = CallDeadline.within(Duration.ofMillis(3_000))) {
            SQLException e = assertThrows(SQLException.class, () -> stream(
                    "SELECT pg_sleep(0.25 / 8), g FROM generate_series(1, 320) g", rows));
            assertTrue(CallDeadline.timedOut(e), e.toString());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(rows.get() < 320, rows + " rows read");
        assertTrue(seconds < 6, "stopped after " + seconds + " s");
    }

    @Test
    void aFetchPastTheFirstThatStallsIsGivenUpAtTheDeadline() throws SQLException {
        AtomicInteger rows = new AtomicInteger();
        long start = System.nanoTime();
        // 12 quick fetches take 6 s of an 8 s deadline; the 13th sleeps 30 s in the server. The driver's query timeout
        // does not cover it; the connection's read bound does, tightened by the rows to the 2 s then left (and 2 s):
        // a bound set at the execution alone (8 s and 2 s) would have waited until 16 s
        try (var bounded = CallDeadline.within(Duration.ofMillis(8_000))) {
            SQLException e = assertThrows(SQLException.class, () -> stream("SELECT pg_sleep(CASE WHEN g = 100 THEN 30 "
                    + "ELSE 0.0625 END), g FROM generate_series(1, 200) g", rows));
            assertTrue(CallDeadline.timedOut(e), e.toString());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(96, rows.get(), "the 12 quick fetches' rows");
        assertTrue(seconds < 13, "stopped after " + seconds + " s");
    }

    @Test
    void aPooledConnectionGetsItsOwnReadBoundBackWhenTheCallsStatementsAreDone() throws SQLException {
        try (Connection physical = MigratedDatabase.create("call_deadline_pool").getConnection()) {
            physical.setNetworkTimeout(Runnable::run, 120_000);
            // a pool of one connection: closing what it hands out gives the connection back
            DataSource pool = (DataSource) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {DataSource.class}, (p, m, a) -> m.getName().equals("getConnection")
                            ? java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                                    new Class<?>[] {Connection.class}, (pc, cm, ca) -> cm.getName().equals("close")
                                            ? null : cm.invoke(physical, ca))
                            : null);
            DataSource bounded = CallDeadline.bounding(pool);
            try (var call = CallDeadline.within(Duration.ofSeconds(3)); Connection c = bounded.getConnection();
                    PreparedStatement ps = c.prepareStatement("SELECT 1")) {
                ps.executeQuery().close();
                int during = physical.getNetworkTimeout();
                assertTrue(during > 0 && during <= 5_000, "bounded by the time left and the grace: " + during);
            }
            assertEquals(120_000, physical.getNetworkTimeout(), "the pool's bound, back for its next caller");
        }
    }

    @Test
    void aCancelledCallStopsItsRunningStatementAndItsNextRow() throws Exception {
        CallDeadline call = CallDeadline.after(Duration.ofMinutes(5));
        AtomicInteger rows = new AtomicInteger();
        CompletableFuture<Throwable> read = CompletableFuture.supplyAsync(() -> {
            try (var bounded = call.enter()) {
                stream("SELECT pg_sleep(CASE WHEN g = 1 THEN 30 ELSE 0 END), g FROM generate_series(1, 20) g", rows);
                return null;
            } catch (SQLException e) {
                return e;
            }
        });
        // cancelled once the statement runs in the server: the driver, not the flag alone, must stop it
        try (Connection watch = DATABASE.getConnection()) {
            awaitSleeping(watch);
        }
        long start = System.nanoTime();
        call.cancel();
        Throwable e = read.get(10, TimeUnit.SECONDS);
        assertTrue(e != null && CallDeadline.timedOut(e), String.valueOf(e));
        assertEquals(0, rows.get());
        assertTrue((System.nanoTime() - start) / 1e9 < 5);
        // a cancelled call runs nothing more
        try (var bounded = call.enter()) {
            assertThrows(SQLException.class, () -> stream("SELECT 1", rows));
        }
        // nor does a statement it made before the cancel, when executed after it (the cancel found nothing running)
        CallDeadline prepared = CallDeadline.after(Duration.ofMinutes(5));
        try (var bounded = prepared.enter(); Connection c = DATABASE.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT 1")) {
            prepared.markCancelled();
            assertTrue(CallDeadline.timedOut(assertThrows(SQLException.class, ps::executeQuery)));
        }
    }

    /** Waits until some backend of the test server sleeps in a query (the cancel test's read), 20 s at the most. */
    private static void awaitSleeping(Connection watch) throws Exception {
        for (int i = 0; i < 200; i++) {
            try (PreparedStatement ps = watch.prepareStatement("SELECT count(*) FROM pg_stat_activity WHERE state = "
                    + "'active' AND query LIKE 'SELECT pg_sleep(CASE WHEN g = 1 THEN 30%'");
                    ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (rs.getInt(1) > 0) {
                    return;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the read never started");
    }

    @Test
    void aThreadWithoutACallReadsUnbounded() throws SQLException {
        AtomicInteger rows = new AtomicInteger();
        stream("SELECT pg_sleep(0.001), g FROM generate_series(1, 40) g", rows);
        assertEquals(40, rows.get());
    }
}
