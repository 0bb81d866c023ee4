package ai.neuraldivergence.storage;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * Rows in PostgreSQL's binary COPY format: bulk writes without turning floats and bytes into text (a bytea sent
 * as text doubles in size and costs the server a parse per byte).
 */
final class BinaryCopy {

    private static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0};
    // PostgreSQL counts timestamps in microseconds from 2000-01-01 UTC
    private static final long POSTGRES_EPOCH_SECONDS = 946_684_800L;

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 16);
    private final DataOutputStream out = new DataOutputStream(bytes);

    BinaryCopy() {
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

    BinaryCopy bytea(byte[] b) {
        return write(() -> {
            out.writeInt(b.length);
            out.write(b);
        });
    }

    /** The whole stream, trailer included. */
    byte[] finish() {
        write(() -> out.writeShort(-1));
        return bytes.toByteArray();
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
