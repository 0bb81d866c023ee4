package ai.neuraldivergence.inference.service;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/** Model inputs to and from grayscale PNG images. */
public final class InputImages {

    private InputImages() {
    }

    /** A grayscale PNG of {@code pixels} (values 0..1, row-major). */
    public static byte[] png(float[] pixels, int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int v = Math.round(Math.max(0f, Math.min(1f, pixels[y * width + x])) * 255f);
                image.getRaster().setSample(x, y, 0, v);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        try {
            ImageIO.write(image, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * The model input of an uploaded image: decoded, converted to luminance, scaled to {@code side} x {@code side},
     * and inverted when it is dark ink on a light background (MNIST digits are light on black). Only PNG is read, and
     * only once its header declares at most {@code maxSide} x {@code maxSide} pixels: ImageIO would otherwise decode
     * whatever format it recognises at whatever size it declares.
     */
    public static float[] fromPng(byte[] bytes, int side, int maxSide) {
        PngHeader.read(bytes).requireAtMost(maxSide);
        BufferedImage image;
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            ImageReader reader = ImageIO.getImageReadersByFormatName("png").next();
            try {
                reader.setInput(in, true, true);
                image = reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            // a truncated or corrupt image past its header: the decoder's own exceptions say no more than this
            image = null;
        }
        if (image == null) {
            throw new IllegalArgumentException("the upload is not a readable PNG image");
        }
        BufferedImage gray = new BufferedImage(side, side, BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D g = gray.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(image, 0, 0, side, side, null);
        g.dispose();
        float[] pixels = new float[side * side];
        double mean = 0;
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                pixels[y * side + x] = gray.getRaster().getSample(x, y, 0) / 255f;
                mean += pixels[y * side + x];
            }
        }
        if (mean / pixels.length > 0.5) {
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = 1f - pixels[i];
            }
        }
        return pixels;
    }
}
