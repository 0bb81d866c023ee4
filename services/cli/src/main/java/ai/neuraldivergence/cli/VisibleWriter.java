package ai.neuraldivergence.cli;

import java.io.FilterWriter;
import java.io.IOException;
import java.io.Writer;

/**
 * What the CLI prints, with every character a terminal would not show as itself written as {@code \}{@code uXXXX}
 * (as two such escapes, a surrogate pair, above the basic plane, as JSON writes it): format characters (bidirectional overrides and isolates,
 * zero-width characters, tag characters), controls other than line ends and tabs, and line or paragraph separators.
 * Names and tag values come from whoever sent the data; the service refuses control characters in them, not these,
 * and a right-to-left override in a model or tap name would otherwise make a table row, or a command line to paste,
 * read as something else than what it holds. In {@code --json} output the same escape is JSON's own, so a parser reads
 * the value unchanged.
 */
final class VisibleWriter extends FilterWriter {

    /** A high surrogate written last, waiting for its pair. */
    private char pending;

    VisibleWriter(Writer out) {
        super(out);
    }

    /** Whether a code point prints as something else than itself, or not at all. */
    static boolean invisible(int codePoint) {
        int type = Character.getType(codePoint);
        return type == Character.FORMAT || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR
                || Character.isISOControl(codePoint) && codePoint != '\n' && codePoint != '\r' && codePoint != '\t';
    }

    private static void append(StringBuilder b, int codePoint) {
        if (!invisible(codePoint)) {
            b.appendCodePoint(codePoint);
        } else if (codePoint <= 0xFFFF) {
            b.append(String.format("\\u%04x", codePoint));
        } else {
            // JSON has no escape above the basic plane but a surrogate pair: two escapes, read back as one character
            for (char c : Character.toChars(codePoint)) {
                b.append(String.format("\\u%04x", (int) c));
            }
        }
    }

    @Override
    public void write(int c) throws IOException {
        write(String.valueOf((char) c), 0, 1);
    }

    @Override
    public void write(char[] cbuf, int off, int len) throws IOException {
        write(new String(cbuf, off, len), 0, len);
    }

    @Override
    public void write(String str, int off, int len) throws IOException {
        if (pending == 0 && printableAscii(str, off, len)) {
            out.write(str, off, len); // the usual case, a table or JSON of plain names: as it is
            return;
        }
        StringBuilder b = new StringBuilder(len + 16);
        for (int i = off; i < off + len; i++) {
            char ch = str.charAt(i);
            if (pending != 0) {
                char high = pending;
                pending = 0;
                if (Character.isLowSurrogate(ch)) {
                    append(b, Character.toCodePoint(high, ch));
                    continue;
                }
                b.append(high); // unpaired: as it came
            }
            if (Character.isHighSurrogate(ch)) {
                pending = ch;
            } else {
                append(b, ch);
            }
        }
        out.write(b.toString());
    }

    private static boolean printableAscii(String str, int off, int len) {
        for (int i = off; i < off + len; i++) {
            char c = str.charAt(i);
            if ((c < 0x20 || c > 0x7e) && c != '\n' && c != '\r' && c != '\t') {
                return false;
            }
        }
        return true;
    }

    @Override
    public void flush() throws IOException {
        // a high surrogate stays until its pair comes: flushing it alone would split a character
        out.flush();
    }

    @Override
    public void close() throws IOException {
        if (pending != 0) {
            out.write(pending);
            pending = 0;
        }
        out.close();
    }
}
