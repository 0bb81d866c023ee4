package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc.ComparisonServiceBlockingStub;
import com.google.protobuf.MessageOrBuilder;
import io.grpc.ManagedChannel;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import picocli.CommandLine.Mixin;

/** What every call command shares: the connection, printing, and running one call. */
abstract class Call implements Callable<Integer> {

    @Mixin
    Connection connection;

    @Mixin
    Output output;

    /** One unary call with a progress bar while it runs; prints its response as JSON or with {@code table}. */
    <R extends MessageOrBuilder> int call(String what, Function<ComparisonServiceBlockingStub, R> rpc,
            Consumer<R> table) throws Exception {
        ManagedChannel channel = connection.open();
        try {
            R response;
            try (Progress p = new Progress(what, !output.json)) {
                response = rpc.apply(connection.stub(channel, false));
            }
            if (output.json) {
                output.printJson(response);
            } else {
                table.accept(response);
            }
            w().flush();
            return ExitCode.OK;
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    PrintWriter w() {
        return output.out();
    }

    void print(Table t) {
        output.print(t);
    }
}
