package ai.neuraldivergence.datasets;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/** Reads and writes the attacked-pair dataset the model builder produces (gzip, versioned binary). */
public final class AttackedPairs {

    private static final byte[] MAGIC = {'N', 'D', 'P', 'A', 'I', 'R', 'S', '1'};

    private AttackedPairs() {
    }

    public static void write(Path file, List<AttackedPair> pairs) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(
                new GZIPOutputStream(Files.newOutputStream(file))))) {
            out.write(MAGIC);
            out.writeInt(pairs.size());
            for (AttackedPair p : pairs) {
                out.writeUTF(p.pairId());
                out.writeUTF(p.attack());
                out.writeFloat(p.epsilon());
                out.writeInt(p.trueLabel());
                out.writeInt(p.benignPrediction());
                out.writeInt(p.attackedPrediction());
                for (float v : p.benign()) {
                    out.writeFloat(v);
                }
                for (float v : p.attacked()) {
                    out.writeFloat(v);
                }
            }
        }
    }

    public static List<AttackedPair> read(Path file) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(
                new GZIPInputStream(Files.newInputStream(file))))) {
            byte[] magic = in.readNBytes(MAGIC.length);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new IOException(file + " is not an attacked-pair dataset");
            }
            int n = in.readInt();
            List<AttackedPair> pairs = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                String id = in.readUTF();
                String attack = in.readUTF();
                float eps = in.readFloat();
                int label = in.readInt();
                int benignPrediction = in.readInt();
                int attackedPrediction = in.readInt();
                float[] benign = new float[ImageSet.PIXELS];
                float[] attacked = new float[ImageSet.PIXELS];
                for (int j = 0; j < benign.length; j++) {
                    benign[j] = in.readFloat();
                }
                for (int j = 0; j < attacked.length; j++) {
                    attacked[j] = in.readFloat();
                }
                pairs.add(new AttackedPair(id, attack, eps, label, benignPrediction, attackedPrediction, benign,
                        attacked));
            }
            return pairs;
        }
    }
}
