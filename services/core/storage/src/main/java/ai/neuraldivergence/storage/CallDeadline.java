package ai.neuraldivergence.storage;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;

/**
 * The deadline of the call the current thread answers, for the statements it runs, and the call's cancellation. A
 * data source made {@link #bounding} bounds each statement three ways, because a cursor read is many round trips
 * and the driver's query timeout covers only the first:
 * <ul>
 * <li>the statement's execution, by a query timeout of the time left (PostgreSQL cancels it; the driver reports
 * SQLState 57014, which {@link #timedOut} recognises);</li>
 * <li>the read as a whole, by a check before each row;</li>
 * <li>every read of the connection, a cursor's later fetches included, by a network timeout of the time left and a
 * grace (set on the socket at each execution, the connection's own restored when it is closed).</li>
 * </ul>
 * So a read ends by its deadline: a later fetch that returns in time by the row check, one that stalls by the network
 * timeout, which closes the connection. Bounding each fetch in the server instead, by the transaction's
 * {@code statement_timeout}, cost a round trip per read: the 400-day read of the comparison benchmark took 19 s
 * instead of 16. A call {@link #cancel cancelled} (its client went away) stops alike: a statement executing
 * is cancelled in the database, and the call's next execution or row fails. A thread without a deadline runs
 * statements unbounded, as before.
 */
public final class CallDeadline {

    private static final ThreadLocal<CallDeadline> CURRENT = new ThreadLocal<>();
    /** PostgreSQL's query_canceled: what a statement stopped by its query timeout fails with. */
    private static final String QUERY_CANCELED = "57014";

    /** When the call's time is up, in {@link System#nanoTime} terms. */
    private final long deadline;
    private volatile boolean cancelled;
    /** The call's statements open now, to cancel should the call be. */
    private final Set<Statement> open = ConcurrentHashMap.newKeySet();
    /** When the call last started executing a statement, in {@link System#nanoTime} terms. */
    private volatile long lastExecution;

    private CallDeadline(long deadline) {
        this.deadline = deadline;
        // none yet: as if long enough ago that a cancel needs no second pass (nanoTime differences, not values)
        this.lastExecution = System.nanoTime() - 2 * SECOND_PASS.toNanos();
    }

    /** A call's deadline, {@code left} from now; the thread that answers it {@link #enter}s it. */
    public static CallDeadline after(Duration left) {
        return new CallDeadline(System.nanoTime() + left.toNanos());
    }

    /** Bounds this thread's statements by a deadline {@code left} from now, until the scope closes. */
    public static Scope within(Duration left) {
        return after(left).enter();
    }

    /** Bounds this thread's statements by this deadline until the scope closes (scopes nest). */
    public Scope enter() {
        CallDeadline previous = CURRENT.get();
        CURRENT.set(this);
        return () -> {
            if (previous == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(previous);
            }
        };
    }

    /** Where a thread's statements are bounded by a deadline; closing it restores the one before. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Stops the call's database work from any thread: its next statement, execution or row fails, and a statement
     * executing now is cancelled in the database (the driver opens a connection of its own to ask the server, so
     * this blocks: not for an event loop; {@link #markCancelled} is what an event loop may call). A cursor's later
     * fetch is not a statement executing to the driver: it runs to its end, and the row after it fails.
     */
    public void cancel() {
        markCancelled();
        cancelOpen();
        // The driver cancels only a statement already executing. One whose execution passed the flag's check just
        // before the mark, and had not reached the server at the first pass, would run to its query timeout (the
        // whole deadline): a second pass a moment later stops it. Only an execution started that recently can be
        // in that gap, so a cancel waits for nothing otherwise (the threads that cancel are few).
        if (System.nanoTime() - lastExecution < SECOND_PASS.toNanos()) {
            try {
                Thread.sleep(SECOND_PASS.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            cancelOpen();
        }
    }

    /** How long after the first pass {@link #cancel} cancels again the statements still open. */
    private static final Duration SECOND_PASS = Duration.ofMillis(100);

    private void cancelOpen() {
        for (Statement s : open) {
            try {
                s.cancel();
            } catch (SQLException e) {
                // closed meanwhile: nothing of it runs any more
            }
        }
    }

    /** Fails the call's next statement, execution or row, without blocking; {@link #cancel} stops one running. */
    public void markCancelled() {
        cancelled = true;
    }

    /** Whether {@link #cancel} or {@link #markCancelled} was called. */
    public boolean cancelled() {
        return cancelled;
    }

    /** Whether the deadline has passed. */
    public boolean passed() {
        return deadline - System.nanoTime() <= 0;
    }

    /** Whole seconds left, at least 1 (JDBC's unit; 0 would mean none); fails once the call is over. */
    private int secondsLeft() throws SQLException {
        long nanos = nanosLeft();
        return (int) Math.min(Integer.MAX_VALUE, Math.max(1, (nanos + 999_999_999L) / 1_000_000_000L));
    }

    private long nanosLeft() throws SQLException {
        if (cancelled) {
            throw new SQLException("the call was cancelled", QUERY_CANCELED);
        }
        long nanos = deadline - System.nanoTime();
        if (nanos <= 0) {
            throw new SQLException("the call's deadline passed", QUERY_CANCELED);
        }
        return nanos;
    }

    /** Whether a failure is a statement stopped by its call's deadline or cancellation. */
    public static boolean timedOut(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && QUERY_CANCELED.equals(s.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    /** A data source whose statements are bounded by the call of the thread that creates them. */
    public static DataSource bounding(DataSource dataSource) {
        InvocationHandler sources = (proxy, method, args) -> {
            Object out = invoke(dataSource, method, args);
            return out instanceof Connection c ? proxy(Connection.class, connectionHandler(c)) : out;
        };
        return proxy(DataSource.class, sources);
    }

    private static InvocationHandler connectionHandler(Connection connection) {
        ReadBound reads = new ReadBound(connection);
        return (proxy, method, args) -> {
            if (method.getName().equals("close")) {
                reads.restore();
            }
            CallDeadline call = CURRENT.get();
            Object out;
            try {
                out = invoke(connection, method, args);
            } catch (SQLException e) {
                // a rollback after a read the bound gave up finds the connection closed: the call's deadline still
                // says why, not the closed connection
                throw call == null ? e : call.stopped(e);
            }
            if (call == null || !(out instanceof Statement s)) {
                return out;
            }
            try {
                s.setQueryTimeout(call.secondsLeft());
            } catch (SQLException over) {
                s.close();
                throw over;
            }
            call.open.add(s);
            @SuppressWarnings("unchecked")
            Class<Statement> type = (Class<Statement>) method.getReturnType();
            return proxy(type, call.statementHandler(s, reads));
        };
    }

    private InvocationHandler statementHandler(Statement statement, ReadBound reads) {
        return (proxy, method, args) -> {
            if (method.getName().equals("close")) {
                open.remove(statement);
            } else if (method.getName().startsWith("execute")) {
                // a cancel that came between the statement's creation and now found nothing running to stop; and a
                // statement executed again (a batch's) gets the time left now, not at its creation
                lastExecution = System.nanoTime();
                statement.setQueryTimeout(secondsLeft());
                reads.tighten(nanosLeft());
            }
            try {
                Object out = invoke(statement, method, args);
                return out instanceof ResultSet rs ? proxy(ResultSet.class, rowHandler(rs, reads)) : out;
            } catch (SQLException e) {
                throw stopped(e);
            }
        };
    }

    /**
     * Bounds every read of a connection, a cursor's later fetches included, by the call's time left and a grace: the
     * query timeout covers the execution alone, and a later fetch the server stalls on would otherwise wait for the
     * pool's read timeout (minutes). The grace lets the query timeout, which leaves the connection usable, answer
     * first; a read the bound ends closes the connection. The bound is per read, so executions and rows tighten it as
     * the time left shrinks (on the socket: no round trip to the server), and closing the connection gives it back
     * its own.
     */
    private static final class ReadBound {
        /** How long past the query timeout a read of the call's waits before the connection gives it up. */
        private static final long GRACE_MILLIS = 2_000;
        /** How much shorter a bound must be to be set again: at most once a second of a read. */
        private static final long STEP_MILLIS = 1_000;

        private final Connection connection;
        /** The connection's own bound (the pool's, 0 for none) while a call's is set; -1 when none is. */
        private int own = -1;
        /** The bound set now, in milliseconds. */
        private int set;

        ReadBound(Connection connection) {
            this.connection = connection;
        }

        void tighten(long leftNanos) throws SQLException {
            long millis = leftNanos / 1_000_000 + GRACE_MILLIS;
            if (own < 0) {
                own = connection.getNetworkTimeout();
            } else if (set - millis < STEP_MILLIS) {
                return;
            }
            set = (int) (own == 0 ? Math.min(Integer.MAX_VALUE, millis) : Math.min(own, millis));
            connection.setNetworkTimeout(Runnable::run, set);
        }

        void restore() {
            if (own < 0) {
                return;
            }
            try {
                connection.setNetworkTimeout(Runnable::run, own);
            } catch (SQLException broken) {
                // closed by the driver after a read it gave up: the pool discards it
            }
            own = -1; // a second close must not touch a connection the pool has lent again
        }
    }

    /**
     * A connection failure of a call stopped by its deadline or cancel, told as the deadline: the read the bound gave
     * up, or the rollback after it, finds the connection closed (SQLState class 08). Other failures stay as they are.
     */
    private SQLException stopped(SQLException e) {
        String state = e.getSQLState();
        if (state == null || !state.startsWith("08") || !cancelled && !passed()) {
            return e;
        }
        return new SQLException("the call's deadline passed, or it was cancelled, while the database was read",
                QUERY_CANCELED, e);
    }

    private InvocationHandler rowHandler(ResultSet rows, ReadBound reads) {
        return (proxy, method, args) -> {
            if (!method.getName().equals("next")) {
                return invoke(rows, method, args);
            }
            reads.tighten(nanosLeft());
            try {
                return invoke(rows, method, args);
            } catch (SQLException e) {
                throw stopped(e);
            }
        };
    }

    private static <T> T proxy(Class<T> type, InvocationHandler handler) {
        return type.cast(Proxy.newProxyInstance(CallDeadline.class.getClassLoader(), new Class<?>[] {type}, handler));
    }

    private static Object invoke(Object target, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
