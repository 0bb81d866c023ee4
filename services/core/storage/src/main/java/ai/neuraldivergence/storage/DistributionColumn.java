package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.DistributionCodec;
import ai.neuraldivergence.domain.TapDistribution;
import java.io.ByteArrayInputStream;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * A stored distribution's two columns, its observation count and its encoded sketches, as every merge-on-write store
 * (windows, references) reads and writes them.
 */
final class DistributionColumn {

    private DistributionColumn() {
    }

    /** The one row's decoded distribution, or null when the row does not exist yet. */
    static TapDistribution read(PreparedStatement select) throws SQLException {
        return Sql.first(select, rs -> DistributionCodec.decode(rs.getBytes(1)));
    }

    /**
     * Sets the count at {@code countIndex} and the encoded distribution right after it.
     *
     * @return the encoded size in bytes
     */
    static int write(PreparedStatement upsert, int countIndex, TapDistribution d) throws SQLException {
        byte[] encoded = DistributionCodec.encode(d);
        upsert.setLong(countIndex, d.observationCount());
        // streamed from the array: the driver's setBytes copies it first, and a wide tap's row is tens of MB
        upsert.setBinaryStream(countIndex + 1, new ByteArrayInputStream(encoded), encoded.length);
        return encoded.length;
    }
}
