package ai.neuraldivergence.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * Tables as they were stored before partitioning (migration V13 kept them, renamed, until their rows age out):
 * retention deletes from them in batches while they are there.
 */
final class LegacyTables {

    private LegacyTables() {
    }

    /** Binds a statement's parameters. */
    @FunctionalInterface
    interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    /**
     * Runs a batched delete on a table's rows stored before partitioning ({@link PartitionLayout#legacyName}), while
     * that table is there, until a batch deletes nothing; returns the rows deleted (0 once the table is gone).
     *
     * @param delete the statement, given the legacy table's name
     * @param what what failed, should it fail
     */
    static long drain(DataSource dataSource, String table, java.util.function.UnaryOperator<String> delete,
            Binder binder, String what) {
        String legacy = PartitionLayout.of(table).legacyName();
        try (Connection c = dataSource.getConnection()) {
            if (!TimePartitions.exists(c, legacy)) {
                return 0;
            }
        } catch (SQLException e) {
            throw new StorageException("looking for " + legacy, e);
        }
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement(delete.apply(legacy))) {
            binder.bind(ps);
            long total = 0;
            int deleted;
            do {
                deleted = ps.executeUpdate();
                total += deleted;
            } while (deleted > 0);
            return total;
        } catch (SQLException e) {
            throw new StorageException(what, e);
        }
    }
}
