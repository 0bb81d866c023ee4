package ai.neuraldivergence.storage;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.time.Duration;
import javax.sql.DataSource;

/**
 * Connections that give up a read the server has not answered within a bound. PostgreSQL bounds lock waits and idle
 * sessions itself, but not its own silence: a frozen host or a connection gone half-open leaves the client's read
 * waiting forever (the driver's default), and an aggregator thread waiting so holds its partitions while nothing is
 * stored. With the bound the statement fails, the connection is closed, and the caller's retry takes over.
 */
public final class ReadTimeout {

    /** Well above any one statement of a flush, a fold or a maintenance step. */
    public static final Duration DEFAULT = Duration.ofMinutes(2);

    private ReadTimeout() {
    }

    /** {@code dataSource}, each connection it hands out bounded by {@link #DEFAULT}. */
    public static DataSource bounding(DataSource dataSource) {
        return bounding(dataSource, DEFAULT);
    }

    /** {@code dataSource}, each connection it hands out bounded by {@code timeout}. */
    public static DataSource bounding(DataSource dataSource, Duration timeout) {
        int millis = Math.toIntExact(timeout.toMillis());
        InvocationHandler handler = (proxy, method, args) -> {
            Object out;
            try {
                out = method.invoke(dataSource, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            if (out instanceof Connection c) {
                bound(c, millis);
            }
            return out;
        };
        return (DataSource) Proxy.newProxyInstance(ReadTimeout.class.getClassLoader(),
                new Class<?>[] {DataSource.class}, handler);
    }

    /** Bounds {@code c}'s reads by {@code millis} (the driver closes the connection when one passes it). */
    static void bound(Connection c, int millis) throws java.sql.SQLException {
        c.setNetworkTimeout(Runnable::run, millis);
    }
}
