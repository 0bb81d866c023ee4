package ai.neuraldivergence.inference.service;

/**
 * A PNG's declared size, read from its header before anything is decoded. A decoder allocates what the header
 * declares: a 70-byte file can declare 30,000 x 30,000 pixels (3.6 GB as an image), so the size is checked first.
 * The layout is fixed by the PNG specification: the 8-byte signature, then the IHDR chunk (length 13, type "IHDR",
 * width and height as 4-byte big-endian integers).
 */
public record PngHeader(long width, long height) {

    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    private static final byte[] IHDR = {'I', 'H', 'D', 'R'};
    /** Signature, IHDR length and type, width, height: the bytes this reader needs. */
    static final int BYTES_NEEDED = 8 + 4 + 4 + 4 + 4;

    /** The header of {@code bytes}, or IllegalArgumentException when they do not start as a PNG does. */
    public static PngHeader read(byte[] bytes) {
        if (bytes == null || bytes.length < BYTES_NEEDED) {
            throw new IllegalArgumentException("the upload is not a PNG image (too short for a PNG header)");
        }
        for (int i = 0; i < SIGNATURE.length; i++) {
            if (bytes[i] != SIGNATURE[i]) {
                throw new IllegalArgumentException("the upload is not a PNG image (no PNG signature)");
            }
        }
        // the specification puts IHDR first, with 13 bytes of data
        if (uint32(bytes, 8) != 13 || !startsWith(bytes, 12, IHDR)) {
            throw new IllegalArgumentException("the upload is not a PNG image (no IHDR chunk after the signature)");
        }
        return new PngHeader(uint32(bytes, 16), uint32(bytes, 20));
    }

    /**
     * Refuses a size a decoder should not allocate: width or height 0 or over {@code maxSide} pixels. The message
     * names the declared size and the limit.
     */
    public PngHeader requireAtMost(int maxSide) {
        if (width < 1 || height < 1 || width > maxSide || height > maxSide) {
            throw new IllegalArgumentException("the PNG declares " + width + " x " + height + " pixels; an upload may "
                    + "have 1.." + maxSide + " x 1.." + maxSide + " (nd.inference.limits.png-max-side)");
        }
        return this;
    }

    private static long uint32(byte[] b, int at) {
        return ((b[at] & 0xffL) << 24) | ((b[at + 1] & 0xffL) << 16) | ((b[at + 2] & 0xffL) << 8) | (b[at + 3] & 0xffL);
    }

    private static boolean startsWith(byte[] b, int at, byte[] prefix) {
        for (int i = 0; i < prefix.length; i++) {
            if (b[at + i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }
}
