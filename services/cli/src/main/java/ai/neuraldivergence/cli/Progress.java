package ai.neuraldivergence.cli;

import java.io.PrintStream;

/**
 * An indeterminate progress bar on the terminal while a long call runs (nothing when output is not a terminal or
 * is JSON, so scripts and pipes see only the answer).
 */
final class Progress implements AutoCloseable {

    private final Thread thread;
    private final PrintStream err;
    private volatile boolean done;

    Progress(String what, boolean enabled) {
        this.err = System.err;
        if (!enabled || System.console() == null) {
            thread = null;
            return;
        }
        long started = System.nanoTime();
        thread = new Thread(() -> {
            int i = 0;
            while (!done) {
                int pos = i++ % 20;
                String bar = " ".repeat(pos) + "===" + " ".repeat(19 - pos);
                err.printf("\r%s [%s] %.1f s", what, bar, (System.nanoTime() - started) / 1e9);
                err.flush();
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "progress");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void close() {
        done = true;
        if (thread != null) {
            thread.interrupt();
            err.print("\r\u001b[2K");
            err.flush();
        }
    }
}
