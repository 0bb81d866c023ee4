package ai.neuraldivergence.storage;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * Rows in PostgreSQL's binary COPY format: bulk writes without turning floats and bytes into text (a bytea sent
 * as text doubles in size and costs the server a parse per byte). Written straight into the COPY's stream, so that
 * a flush of a thousand observations of a wide tap never holds them twice.
 */
final class BinaryCopy implements AutoCloseable {

    private static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0};
    // PostgreSQL counts timestamps in microseconds from 2000-01-01 UTC
    private static final long POSTGRES_EPOCH_SECONDS = 946_684_800L;

    private final DataOutputStream out;
    private final java.nio.ByteBuffer floats = java.nio.ByteBuffer.allocate(4 * 1024)
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);

    /** Rows written to {@code sink} (a COPY ... FROM STDIN stream), header first. */
    BinaryCopy(java.io.OutputStream sink) {
        this.out = new DataOutputStream(new java.io.BufferedOutputStream(sink, 1 << 16));
        try {
            out.write(SIGNATURE);
            out.writeInt(0); // flags
            out.writeInt(0); // header extension length
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    BinaryCopy row(int fields) {
        return write(() -> out.writeShort(fields));
    }

    BinaryCopy text(String s) {
        if (s == null) {
            return nul();
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return write(() -> {
            out.writeInt(b.length);
            out.write(b);
        });
    }

    BinaryCopy int4(Integer v) {
        return v == null ? nul() : write(() -> {
            out.writeInt(4);
            out.writeInt(v);
        });
    }

    BinaryCopy float4(float v) {
        return write(() -> {
            out.writeInt(4);
            out.writeFloat(v);
        });
    }

    BinaryCopy timestamptz(Instant t) {
        long micros = Math.multiplyExact(t.getEpochSecond() - POSTGRES_EPOCH_SECONDS, 1_000_000L)
                + t.getNano() / 1_000;
        return write(() -> {
            out.writeInt(8);
            out.writeLong(micros);
        });
    }

    BinaryCopy jsonb(String json) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        return write(() -> {
            out.writeInt(b.length + 1);
            out.writeByte(1); // jsonb binary format version
            out.write(b);
        });
    }

    /** Floats as a bytea of their little-endian bytes, without an intermediate array. */
    BinaryCopy littleEndianFloats(float[] values) {
        return values == null ? nul() : write(() -> {
            out.writeInt(4 * values.length);
            for (int i = 0; i < values.length; ) {
                floats.clear();
                while (i < values.length && floats.remaining() >= 4) {
                    floats.putFloat(values[i++]);
                }
                out.write(floats.array(), 0, floats.position());
            }
        });
    }

    BinaryCopy bytea(byte[] b) {
        return write(() -> {
            out.writeInt(b.length);
            out.write(b);
        });
    }

    /** Writes the trailer and ends the stream (the COPY completes). */
    @Override
    public void close() {
        write(() -> {
            out.writeShort(-1);
            out.close();
        });
    }

    private BinaryCopy nul() {
        return write(() -> out.writeInt(-1));
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private BinaryCopy write(IoAction action) {
        try {
            action.run();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }
}
