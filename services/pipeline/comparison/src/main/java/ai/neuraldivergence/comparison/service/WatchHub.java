package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.comparison.auth.ModelGrants;
import ai.neuraldivergence.contract.AccessTokens;
import ai.neuraldivergence.proto.v1.WatchEvent;
import ai.neuraldivergence.proto.v1.WatchRequest;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fans window updates and monitor transitions out to live subscribers (gRPC Watch streams, WebSockets). Each
 * subscriber gets only what its request asks for, through a bounded queue of its own: one that falls behind by more
 * than its queue is dropped with a message, and the others never wait for it.
 */
public final class WatchHub {

    /** Events a subscriber may have waiting before it is dropped, unless configured. */
    public static final int DEFAULT_QUEUE = 4096;

    /** One subscriber: its request, who made it, its queue, and how its transport sends and closes. */
    public abstract static class Subscriber {
        private final WatchRequest request;
        private final AccessTokens.Caller caller;
        private final ArrayBlockingQueue<WatchEvent> queue;
        private volatile boolean closed;

        /** @param caller who subscribes: a token confined to some models is sent their events alone */
        protected Subscriber(WatchRequest request, AccessTokens.Caller caller, int capacity) {
            this.request = request;
            this.caller = caller;
            this.queue = new ArrayBlockingQueue<>(capacity);
        }

        /** Whether the request asks for this event, and its caller may see it. */
        public boolean wants(WatchEvent e) {
            return WatchFilter.matches(request, e) && ModelGrants.visibleTo(e, caller);
        }

        /** The next queued event, or null. */
        protected WatchEvent poll() {
            return queue.poll();
        }

        public boolean closed() {
            return closed;
        }

        /** Sends what is queued as far as the transport can take it now. */
        protected abstract void drain();

        /** Ends the subscription, telling its client why in its transport's terms. */
        protected abstract void close(Ending ending, String why);

        boolean offer(WatchEvent e) {
            boolean queued = queue.offer(e);
            if (queued) {
                drain();
            }
            return queued;
        }

        /** Ends it once; a transport already gone has nothing to be told, and the hub's other subscribers still do. */
        void end(Ending ending, String why) {
            closed = true;
            try {
                close(ending, why);
            } catch (RuntimeException e) {
                // its connection is gone already
            }
        }
    }

    /** Why a subscription ends. */
    public enum Ending {
        /** It fell behind: subscribing again as it was would fall behind again. */
        FELL_BEHIND,
        /** This replica is stopping: another takes the subscription. */
        STOPPING
    }

    private final List<Subscriber> subscribers = new CopyOnWriteArrayList<>();
    private final AtomicLong dropped = new AtomicLong();
    private final int queue;
    /** Why this replica takes no more subscribers (it is stopping); null while it takes them. */
    private volatile String ending;

    /**
     * @param queue events each subscriber may have waiting; it must absorb a burst (one flush announces every
     *     changed tap and slice at once)
     */
    public WatchHub(int queue) {
        if (queue < 1) {
            throw new IllegalArgumentException("the watch queue must hold at least one event, got " + queue);
        }
        this.queue = queue;
    }

    public int queueCapacity() {
        return queue;
    }

    public void subscribe(Subscriber s) {
        subscribers.add(s);
        String why = ending;
        if (why != null && subscribers.remove(s)) {
            s.end(Ending.STOPPING, why);
        }
    }

    /**
     * Ends every subscription, and each one made from now on, telling its client {@code why}: a replica stopping
     * sends its subscribers to the others, instead of holding its shutdown while their streams stay open and cutting
     * them when it ends.
     */
    public void endAll(String why) {
        ending = why;
        for (Subscriber s : subscribers) {
            if (subscribers.remove(s)) {
                s.end(Ending.STOPPING, why);
            }
        }
    }

    public void unsubscribe(Subscriber s) {
        subscribers.remove(s);
    }

    public void publish(WatchEvent e) {
        for (Subscriber s : subscribers) {
            if (s.closed() || !s.wants(e)) {
                continue;
            }
            if (!s.offer(e)) {
                subscribers.remove(s);
                dropped.incrementAndGet();
                s.end(Ending.FELL_BEHIND, "dropped: " + queue + " events were waiting; read faster or watch less, then subscribe again");
            }
        }
    }

    public int subscriberCount() {
        return subscribers.size();
    }

    /** Subscribers dropped for falling behind, since the start. */
    public long droppedCount() {
        return dropped.get();
    }
}
