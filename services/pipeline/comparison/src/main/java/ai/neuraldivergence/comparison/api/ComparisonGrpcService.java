package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.auth.TokenInterceptor;
import ai.neuraldivergence.contract.AccessTokens;
import ai.neuraldivergence.storage.CallDeadline;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import com.google.protobuf.Message;
import io.grpc.Context;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import jakarta.inject.Inject;

/**
 * The comparison API over gRPC: every unary method of the contract is bound to the {@link Rpcs} table by its name
 * ({@link #bindService}), with its errors as status codes, so that a new RPC is wired in the table alone; Watch
 * streams from the {@link ai.neuraldivergence.comparison.service.WatchHub}. Calls read PostgreSQL, so they run on
 * worker threads (the class's {@code @Blocking} covers every method of the service, declared here or not).
 */
@GrpcService
@Blocking
public class ComparisonGrpcService extends ComparisonServiceGrpc.ComparisonServiceImplBase {

    private final Rpcs rpcs;
    private final ai.neuraldivergence.comparison.service.WatchHub hub;

    /** What a call without a deadline of its own may take (nd.comparison.grpc.default-deadline). */
    private final java.time.Duration defaultDeadline;
    /** Where unary calls run: they read PostgreSQL, which must never hold an event-loop thread. */
    private final java.util.concurrent.Executor workers;

    @Inject
    public ComparisonGrpcService(Rpcs rpcs, ai.neuraldivergence.comparison.service.WatchHub hub,
            ai.neuraldivergence.comparison.config.ComparisonConfig config,
            org.eclipse.microprofile.context.ManagedExecutor workers) {
        this(rpcs, hub, config.grpc().defaultDeadline(), workers);
    }

    ComparisonGrpcService(Rpcs rpcs, ai.neuraldivergence.comparison.service.WatchHub hub,
            java.time.Duration defaultDeadline, java.util.concurrent.Executor workers) {
        this.rpcs = rpcs;
        this.hub = hub;
        this.defaultDeadline = defaultDeadline;
        this.workers = workers;
    }

    /**
     * Streams window updates and monitor transitions as they happen. gRPC buffers without limit when a client reads
     * slowly, so events are only handed over while the stream is ready; the rest wait in the subscriber's bounded
     * queue, and a subscriber whose queue overflows is ended with RESOURCE_EXHAUSTED.
     */
    @Override
    public void watch(ai.neuraldivergence.proto.v1.WatchRequest request,
            StreamObserver<ai.neuraldivergence.proto.v1.WatchEvent> response) {
        try {
            RequestBounds.check(request);
            ai.neuraldivergence.comparison.service.WatchFilter.validate(request);
            ai.neuraldivergence.comparison.auth.ModelGrants.check(request, caller());
        } catch (RuntimeException e) {
            response.onError(GrpcErrors.status("Watch", e).asRuntimeException());
            return;
        }
        var call = (io.grpc.stub.ServerCallStreamObserver<ai.neuraldivergence.proto.v1.WatchEvent>) response;
        GrpcWatcher watcher = new GrpcWatcher(request, caller(), call, hub.queueCapacity());
        call.setOnReadyHandler(watcher::drain);
        call.setOnCancelHandler(() -> hub.unsubscribe(watcher));
        hub.subscribe(watcher);
    }

    private static final class GrpcWatcher extends ai.neuraldivergence.comparison.service.WatchHub.Subscriber {
        private final io.grpc.stub.ServerCallStreamObserver<ai.neuraldivergence.proto.v1.WatchEvent> call;

        GrpcWatcher(ai.neuraldivergence.proto.v1.WatchRequest request, AccessTokens.Caller caller,
                io.grpc.stub.ServerCallStreamObserver<ai.neuraldivergence.proto.v1.WatchEvent> call, int capacity) {
            super(request, caller, capacity);
            this.call = call;
        }

        @Override
        protected synchronized void drain() {
            if (closed() || call.isCancelled()) {
                return;
            }
            while (call.isReady()) {
                ai.neuraldivergence.proto.v1.WatchEvent e = poll();
                if (e == null) {
                    return;
                }
                call.onNext(e);
            }
        }

        @Override
        protected synchronized void close(ai.neuraldivergence.comparison.service.WatchHub.Ending ending, String why) {
            if (!call.isCancelled()) {
                Status status = ending == ai.neuraldivergence.comparison.service.WatchHub.Ending.STOPPING
                        ? Status.UNAVAILABLE : Status.RESOURCE_EXHAUSTED;
                call.onError(status.withDescription(why).asRuntimeException());
            }
        }
    }

    /** A cancelled call or a passed deadline stops the work between taps. */
    private static final ai.neuraldivergence.comparison.query.Cancellation DEADLINE = () -> {
        Context context = Context.current();
        if (context.isCancelled()) {
            throw (context.getDeadline() != null && context.getDeadline().isExpired()
                    ? Status.DEADLINE_EXCEEDED.withDescription("the deadline passed while the comparison ran")
                    : Status.CANCELLED.withDescription("the call was cancelled")).asRuntimeException();
        }
    };

    /** The current call's caller, as {@link TokenInterceptor} put it in the call's context. */
    private static AccessTokens.Caller caller() {
        return TokenInterceptor.CALLER.get();
    }

    /**
     * The generated binding with each unary method answered through the table instead of the generated stub's
     * UNIMPLEMENTED; a unary method of the contract that the table lacks stops the service from starting.
     */
    @Override
    public ServerServiceDefinition bindService() {
        ServerServiceDefinition generated = super.bindService();
        ServerServiceDefinition.Builder bound = ServerServiceDefinition.builder(generated.getServiceDescriptor());
        for (ServerMethodDefinition<?, ?> method : generated.getMethods()) {
            bound.addMethod(answered(method));
        }
        return bound.build();
    }

    private <Q, R> ServerMethodDefinition<Q, R> answered(ServerMethodDefinition<Q, R> generated) {
        MethodDescriptor<Q, R> method = generated.getMethodDescriptor();
        if (method.getType() != MethodDescriptor.MethodType.UNARY) {
            return generated;
        }
        String name = method.getBareMethodName();
        if (!rpcs.has(name)) {
            throw new IllegalStateException("the contract's method " + name + " is not wired in the RPC table");
        }
        // the class's @Blocking covers only the methods it declares: a method bound here ran on the event loop,
        // database reads included, until it was handed to a worker here
        return ServerMethodDefinition.create(method, ServerCalls.asyncUnaryCall((request, response) -> {
            Long deadline = CallDeadlines.DEADLINE_NANOS.get();
            long until = deadline != null ? deadline : System.nanoTime() + defaultDeadline.toNanos();
            CallDeadline call = CallDeadline.after(java.time.Duration.ofNanos(Math.max(0, until - System.nanoTime())));
            // a client that goes away (a closed tab, Ctrl-C) frees its worker and its statements now, not at the
            // deadline; the cancel asks the server over a connection of its own, so it leaves the event loop
            ((io.grpc.stub.ServerCallStreamObserver<?>) response).setOnCancelHandler(() -> cancel(call));
            try {
                workers.execute(Context.current().wrap(
                        () -> reply(response, name, (Message) request, call, deadline != null)));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                response.onError(Status.RESOURCE_EXHAUSTED.withDescription("the service is busy: retry later")
                        .asRuntimeException());
            }
        }));
    }

    /**
     * Where the cancels of statements run: apart from the workers, whose queue a cancel must not wait in behind the
     * calls it frees room for. Two threads and a bounded queue: a cancel shed when they are busy costs only the
     * statement running now, since the call's flag, set on the event loop, fails its next execution or row.
     */
    private static final java.util.concurrent.ThreadPoolExecutor CANCELS = cancels();

    private static java.util.concurrent.ThreadPoolExecutor cancels() {
        var pool = new java.util.concurrent.ThreadPoolExecutor(2, 2, 30, java.util.concurrent.TimeUnit.SECONDS,
                new java.util.concurrent.ArrayBlockingQueue<>(256), r -> {
                    Thread t = new Thread(r, "nd-call-cancels");
                    t.setDaemon(true);
                    return t;
                }, new java.util.concurrent.ThreadPoolExecutor.DiscardPolicy());
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    private static void cancel(CallDeadline call) {
        call.markCancelled();
        CANCELS.execute(call::cancel);
    }

    /** Answers one call through the RPC table; its errors become status codes. */
    @SuppressWarnings("unchecked")
    private <T> void reply(StreamObserver<T> response, String method, Message request, CallDeadline call,
            boolean clientDeadline) {
        T value;
        if (io.vertx.core.Context.isOnEventLoopThread()) {
            // a guard, not a path: every gRPC test fails should a unary call reach the event loop again
            response.onError(GrpcErrors.status(method, new IllegalStateException(method + " ran on an event loop"))
                    .asRuntimeException());
            return;
        }
        if (call.cancelled()) {
            // the client went away while the call waited for a worker
            return;
        }
        // the client's deadline (CallDeadlines); a call without one is bounded all the same: a client that set none
        // (grpcurl, a script) must not hold a worker and a connection for as long as a 400-day read takes
        ai.neuraldivergence.comparison.query.Cancellation cancellation = () -> {
            DEADLINE.check();
            if (call.cancelled()) {
                throw Status.CANCELLED.withDescription("the call was cancelled").asRuntimeException();
            }
            if (call.passed()) {
                throw Status.DEADLINE_EXCEEDED.withDescription(clientDeadline
                        ? "the deadline passed while the comparison ran" : "the call took longer than "
                        + defaultDeadline.toSeconds() + " s, the most a call without a deadline may")
                        .asRuntimeException();
            }
        };
        try (var bounded = call.enter()) {
            value = (T) rpcs.answer(method, request, new Rpcs.Call(cancellation, caller()));
        } catch (RuntimeException e) {
            if (!call.cancelled()) {
                response.onError(GrpcErrors.status(method, e).asRuntimeException());
            }
            return;
        }
        if (call.cancelled()) {
            // the client reset the call (a cancel, or its own deadline), which the gRPC metrics count as CANCELLED
            // then: an answer now would reach no one, and would count the call a second time
            return;
        }
        response.onNext(value);
        response.onCompleted();
    }
}
