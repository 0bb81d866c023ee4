package ai.neuraldivergence.contract;

import com.google.api.AnnotationsProto;
import com.google.api.HttpRule;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A service's JSON routes, read from its descriptor: each method's {@code google.api.http} option names its verb,
 * its path (literal segments and {@code {field}} variables) and whether the body is the request. The proto is the
 * one place a path is written: the JSON mirror answers by these routes, and access rules read a route's method.
 */
public final class HttpRoutes {

    /** One method's route; {@code segments} hold literals, and field names in braces. */
    public record Route(String verb, List<String> segments, boolean body, MethodDescriptor method) {

        /** The path's variables bound to the request's segments, or empty when the path is not this route's. */
        public Optional<Map<String, String>> bind(List<String> path) {
            if (path.size() != segments.size()) {
                return Optional.empty();
            }
            Map<String, String> vars = new LinkedHashMap<>();
            for (int i = 0; i < segments.size(); i++) {
                String s = segments.get(i);
                if (s.startsWith("{") && s.endsWith("}")) {
                    vars.put(s.substring(1, s.length() - 1), path.get(i));
                } else if (!s.equals(path.get(i))) {
                    return Optional.empty();
                }
            }
            return Optional.of(vars);
        }

        /** A literal route is preferred to one with variables (POST /references/seal over a variable there). */
        int literals() {
            return (int) segments.stream().filter(s -> !s.startsWith("{")).count();
        }
    }

    /** A request's route and its path variables. */
    public record Match(Route route, Map<String, String> variables) {
    }

    private final List<Route> routes = new ArrayList<>();

    public HttpRoutes(ServiceDescriptor service) {
        for (MethodDescriptor m : service.getMethods()) {
            if (!m.getOptions().hasExtension(AnnotationsProto.http)) {
                continue;
            }
            HttpRule rule = m.getOptions().getExtension(AnnotationsProto.http);
            String verb;
            String path;
            switch (rule.getPatternCase()) {
                case GET -> { verb = "GET"; path = rule.getGet(); }
                case POST -> { verb = "POST"; path = rule.getPost(); }
                case DELETE -> { verb = "DELETE"; path = rule.getDelete(); }
                case PUT -> { verb = "PUT"; path = rule.getPut(); }
                case PATCH -> { verb = "PATCH"; path = rule.getPatch(); }
                default -> throw new IllegalStateException(m.getFullName() + ": unsupported http rule " + rule);
            }
            routes.add(new Route(verb, split(path), "*".equals(rule.getBody()), m));
        }
        routes.sort((a, b) -> Integer.compare(b.literals(), a.literals()));
    }

    public List<Route> routes() {
        return List.copyOf(routes);
    }

    public static List<String> split(String path) {
        return Arrays.stream(path.split("/")).filter(s -> !s.isEmpty()).toList();
    }

    /** The route of a verb and path (as the client sent it, from the root). */
    public Optional<Match> match(String verb, String path) {
        List<String> segments = split(path);
        for (Route r : routes) {
            if (r.verb().equals(verb)) {
                Optional<Map<String, String>> vars = r.bind(segments);
                if (vars.isPresent()) {
                    return Optional.of(new Match(r, vars.get()));
                }
            }
        }
        return Optional.empty();
    }

    /** Whether some route has this path under another verb (405 rather than 404). */
    public boolean pathExists(String path) {
        List<String> segments = split(path);
        return routes.stream().anyMatch(r -> r.bind(segments).isPresent());
    }
}
