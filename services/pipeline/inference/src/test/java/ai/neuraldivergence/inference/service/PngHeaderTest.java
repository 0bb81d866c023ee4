package ai.neuraldivergence.inference.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.testkit.Pngs;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** An upload's size is read from its PNG header, and one declaring too many pixels is refused before decoding. */
class PngHeaderTest {

    @Test
    void theHeaderGivesTheSizeAnImageWasWrittenWith() {
        byte[] png = InputImages.png(new float[28 * 40], 28, 40);
        assertEquals(new PngHeader(28, 40), PngHeader.read(png));
    }

    @Test
    void aPngDeclaring30000By30000PixelsIsRefusedNamingItsSizeAndTheLimitWithoutBeingDecoded() throws IOException {
        // 30,000 x 30,000 grayscale pixels are 900 MB decoded, allocated as soon as a decoder has read the header
        // (the rows that follow are a few: the file is 1 KB): refused naming the size shows nothing was decoded
        byte[] png = declaring(30_000, 30_000);
        assertTrue(png.length < 1_000_000, png.length + " bytes");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> InputImages.fromPng(png, 28, 2048));
        assertTrue(e.getMessage().contains("30000 x 30000") && e.getMessage().contains("2048"), e.getMessage());
    }

    @Test
    void aPngAtTheLimitIsDecoded() throws IOException {
        byte[] png = declaring(64, 32);
        float[] pixels = InputImages.fromPng(png, 28, 64);
        assertEquals(28 * 28, pixels.length);
        assertThrows(IllegalArgumentException.class, () -> InputImages.fromPng(png, 28, 63));
    }

    @Test
    void otherFormatsAndTruncatedHeadersAreNotPng() throws IOException {
        BufferedImage image = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        for (String format : new String[] {"jpg", "bmp", "gif"}) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(image, format, out);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> InputImages.fromPng(out.toByteArray(), 28, 2048));
            assertTrue(e.getMessage().contains("not a PNG"), format + ": " + e.getMessage());
        }
        byte[] png = InputImages.png(new float[784], 28, 28);
        for (int length : new int[] {0, 8, PngHeader.BYTES_NEEDED - 1}) {
            byte[] cut = java.util.Arrays.copyOf(png, length);
            assertThrows(IllegalArgumentException.class, () -> PngHeader.read(cut), length + " bytes");
        }
        // a header alone passes the size check, and then fails as unreadable, not with a decoder's exception
        byte[] headerOnly = java.util.Arrays.copyOf(png, 33);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> InputImages.fromPng(headerOnly, 28, 2048));
        assertEquals("the upload is not a readable PNG image", e.getMessage());
    }

    @Test
    void theLargestDeclarableSizeIsReadUnsigned() {
        byte[] png = InputImages.png(new float[784], 28, 28);
        for (int i = 16; i < 24; i++) {
            png[i] = (byte) 0xff;
        }
        PngHeader header = PngHeader.read(png);
        assertEquals(new PngHeader(4_294_967_295L, 4_294_967_295L), header);
        assertThrows(IllegalArgumentException.class, () -> header.requireAtMost(2048));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4));
    }

    /**
     * A grayscale PNG declaring {@code width} x {@code height} black pixels, whole when {@code height} is at most
     * 64, else with only its first 64 rows (enough for a decoder to allocate the whole image first).
     */
    static byte[] declaring(int width, int height) throws IOException {
        return Pngs.declaring(width, height, Math.min(height, 64));
    }
}
