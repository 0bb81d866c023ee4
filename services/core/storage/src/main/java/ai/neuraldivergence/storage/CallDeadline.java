package ai.neuraldivergence.storage;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import javax.sql.DataSource;

/**
 * The deadline of the call the current thread answers, for the statements it runs: a data source made
 * {@link #bounding} gives each statement a query timeout of the time left, so that a passed deadline stops the
 * database's work too, not only the service's between two reads (PostgreSQL cancels the statement; the driver
 * reports SQLState 57014, which {@link #timedOut} recognises). A thread without a deadline runs statements
 * unbounded, as before.
 */
public final class CallDeadline implements AutoCloseable {

    private static final ThreadLocal<Long> DEADLINE = new ThreadLocal<>();
    /** PostgreSQL's query_canceled: what a statement stopped by its query timeout fails with. */
    private static final String QUERY_CANCELED = "57014";

    private final Long previous;

    private CallDeadline(Long previous) {
        this.previous = previous;
    }

    /** Bounds this thread's statements until {@link #close}; {@code left} null means no deadline. */
    public static CallDeadline within(Duration left) {
        Long previous = DEADLINE.get();
        if (left == null) {
            DEADLINE.remove();
        } else {
            DEADLINE.set(System.nanoTime() + left.toNanos());
        }
        return new CallDeadline(previous);
    }

    @Override
    public void close() {
        if (previous == null) {
            DEADLINE.remove();
        } else {
            DEADLINE.set(previous);
        }
    }

    /** Whole seconds left, at least 1 (JDBC's unit; 0 would mean none), or 0 when the thread has no deadline. */
    static int secondsLeft() {
        Long deadline = DEADLINE.get();
        if (deadline == null) {
            return 0;
        }
        long nanos = deadline - System.nanoTime();
        if (nanos <= 0) {
            throw new StorageException("the call's deadline passed before a statement could run",
                    new SQLException("deadline passed", QUERY_CANCELED));
        }
        return (int) Math.min(Integer.MAX_VALUE, Math.max(1, (nanos + 999_999_999L) / 1_000_000_000L));
    }

    /** Whether a failure is a statement stopped by its call's deadline. */
    public static boolean timedOut(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && QUERY_CANCELED.equals(s.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    /** A data source whose statements are bounded by the deadline of the thread that creates them. */
    public static DataSource bounding(DataSource dataSource) {
        InvocationHandler sources = (proxy, method, args) -> {
            Object out = invoke(dataSource, method, args);
            return out instanceof Connection c ? boundConnection(c) : out;
        };
        return (DataSource) Proxy.newProxyInstance(CallDeadline.class.getClassLoader(),
                new Class<?>[] {DataSource.class}, sources);
    }

    private static Connection boundConnection(Connection connection) {
        InvocationHandler statements = (proxy, method, args) -> {
            Object out = invoke(connection, method, args);
            if (out instanceof Statement s) {
                int seconds = secondsLeft();
                if (seconds > 0) {
                    s.setQueryTimeout(seconds);
                }
            }
            return out;
        };
        return (Connection) Proxy.newProxyInstance(CallDeadline.class.getClassLoader(),
                new Class<?>[] {Connection.class}, statements);
    }

    private static Object invoke(Object target, java.lang.reflect.Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
