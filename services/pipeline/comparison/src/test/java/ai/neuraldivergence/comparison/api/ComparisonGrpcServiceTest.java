package ai.neuraldivergence.comparison.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import com.google.protobuf.Empty;
import com.google.protobuf.Message;
import com.google.protobuf.StringValue;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The gRPC service binds the contract's unary methods to the RPC table by name, so that a new RPC is wired in the
 * table alone: every unary method is answered by the table; a unary method
 * the table lacks stops the service from starting, naming it, rather than answering UNIMPLEMENTED at run time.
 */
class ComparisonGrpcServiceTest {

    /** A table of every unary method but those {@code left}, each answering its own name. */
    private static Rpcs tableWithout(Predicate<String> left) {
        Rpcs rpcs = new Rpcs();
        for (MethodDescriptor<?, ?> m : ComparisonServiceGrpc.getServiceDescriptor().getMethods()) {
            String name = m.getBareMethodName();
            if (m.getType() == MethodDescriptor.MethodType.UNARY && !left.test(name)) {
                rpcs.add(name, (Message) Empty.getDefaultInstance(), (r, call) -> StringValue.of(name));
            }
        }
        return rpcs;
    }

    @Test
    void everyUnaryMethodOfTheContractIsAnsweredByTheTable() {
        ComparisonGrpcService service = new ComparisonGrpcService(tableWithout(name -> false), null,
                java.time.Duration.ofSeconds(60), Runnable::run);
        ServerServiceDefinition bound = service.bindService();
        assertEquals(ComparisonServiceGrpc.getServiceDescriptor().getMethods().size(), bound.getMethods().size(),
                "every method of the contract is bound");
        int unary = 0;
        for (ServerMethodDefinition<?, ?> m : bound.getMethods()) {
            if (m.getMethodDescriptor().getType() == MethodDescriptor.MethodType.UNARY) {
                unary++;
                Answer answer = call(m);
                // the generated stub answers UNIMPLEMENTED for a method the class does not override
                assertEquals(Status.Code.OK, answer.status.getCode(), m.getMethodDescriptor().getFullMethodName()
                        + ": " + answer.status);
                assertEquals(StringValue.of(m.getMethodDescriptor().getBareMethodName()), answer.message);
            }
        }
        assertTrue(unary >= 19, "the contract's unary methods: " + unary);
    }

    @Test
    void aUnaryMethodTheTableLacksStopsTheServiceFromStarting() {
        ComparisonGrpcService service = new ComparisonGrpcService(tableWithout("ListPairs"::equals), null,
                java.time.Duration.ofSeconds(60), Runnable::run);
        IllegalStateException e = assertThrows(IllegalStateException.class, service::bindService);
        assertTrue(e.getMessage().contains("ListPairs"), e.getMessage());
    }

    private static final class Answer {
        Object message;
        Status status;
    }

    /** One call through the bound handler, its request the method's default message, as the transport would. */
    private static <Q, R> Answer call(ServerMethodDefinition<Q, R> method) {
        Answer answer = new Answer();
        ServerCall<Q, R> call = new ServerCall<>() {
            @Override
            public void request(int numMessages) {
            }

            @Override
            public void sendHeaders(Metadata headers) {
            }

            @Override
            public void sendMessage(R message) {
                answer.message = message;
            }

            @Override
            public void close(Status status, Metadata trailers) {
                answer.status = status;
            }

            @Override
            public boolean isCancelled() {
                return false;
            }

            @Override
            public MethodDescriptor<Q, R> getMethodDescriptor() {
                return method.getMethodDescriptor();
            }
        };
        @SuppressWarnings("unchecked")
        Q request = ((MethodDescriptor.PrototypeMarshaller<Q>) method.getMethodDescriptor().getRequestMarshaller())
                .getMessagePrototype();
        ServerCall.Listener<Q> listener = method.getServerCallHandler().startCall(call, new Metadata());
        listener.onMessage(request);
        listener.onHalfClose();
        return answer;
    }
}
