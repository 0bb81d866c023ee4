package ai.neuraldivergence.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** A plain-text table: columns as wide as their widest cell, numbers right-aligned. */
final class Table {

    private final List<String[]> rows = new ArrayList<>();
    private final String[] header;

    Table(String... header) {
        this.header = header;
    }

    Table row(Object... cells) {
        String[] r = new String[header.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = i < cells.length ? format(cells[i]) : "";
        }
        rows.add(r);
        return this;
    }

    private static String format(Object o) {
        if (o instanceof Double d) {
            return Double.isNaN(d) ? "-" : String.format(java.util.Locale.ROOT, Math.abs(d) >= 100 ? "%.1f" : "%.4f", d);
        }
        return String.valueOf(o);
    }

    void print(PrintStream out) {
        int[] width = new int[header.length];
        for (int i = 0; i < header.length; i++) {
            width[i] = header[i].length();
            for (String[] r : rows) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        line(out, header, width, false);
        for (String[] r : rows) {
            line(out, r, width, true);
        }
    }

    private static void line(PrintStream out, String[] cells, int[] width, boolean alignNumbers) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            boolean number = alignNumbers && cells[i].matches("-?[0-9.,]+%?");
            String pad = " ".repeat(width[i] - cells[i].length());
            b.append(number ? pad + cells[i] : cells[i] + pad);
            if (i < cells.length - 1) {
                b.append("  ");
            }
        }
        out.println(b.toString().stripTrailing());
    }
}
