package ai.neuraldivergence.comparison.auth;

import ai.neuraldivergence.contract.AccessTokens;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import io.grpc.Status;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a token confined to some models ({@link AccessTokens.Caller#confined}) may ask and be told, read from the
 * contract's descriptors rather than listed per method, so that a new RPC is covered without being named here: a
 * request naming a model the token is not granted, in any {@code model_id} field at any depth, is refused with
 * PERMISSION_DENIED before any query runs; in an answer, an element of a list that belongs to another model (its
 * own {@code model_id}) is left out (the catalog, monitors and references listed across models), and any other
 * part that does answers PERMISSION_DENIED, naming no model (a monitor's history asked by its name). A token that is not confined
 * passes untouched.
 */
public final class ModelGrants {

    static final String MODEL_ID = "model_id";

    /** Per message type: whether a model_id field stands in it or in any message below it. */
    private static final Map<Descriptor, Boolean> NAMES_A_MODEL = new ConcurrentHashMap<>();

    private ModelGrants() {
    }

    /** Refuses a request that names a model the caller is not granted. */
    public static void check(Message request, AccessTokens.Caller caller) {
        if (caller != null && caller.confined()) {
            String ungranted = firstUngranted(request, caller);
            if (ungranted != null) {
                throw denied(caller, ungranted);
            }
        }
    }

    /**
     * The answer as the caller may see it: list elements of other models left out; PERMISSION_DENIED where anything
     * else belongs to one.
     */
    public static Message filter(Message answer, AccessTokens.Caller caller) {
        if (caller == null || !caller.confined() || !namesAModel(answer.getDescriptorForType())) {
            return answer;
        }
        return visible(answer, caller);
    }

    /**
     * Whether every model a streamed event names is granted to the caller (a watch's event, say): asked of every
     * event on the publishing thread, so it walks only what names a model and builds nothing.
     */
    public static boolean visibleTo(Message event, AccessTokens.Caller caller) {
        return caller == null || !caller.confined() || firstUngranted(event, caller) == null;
    }

    /** The first model named at any depth that the caller is not granted; null when there is none. */
    private static String firstUngranted(Message message, AccessTokens.Caller caller) {
        for (Map.Entry<FieldDescriptor, Object> field : message.getAllFields().entrySet()) {
            FieldDescriptor f = field.getKey();
            if (isModelId(f)) {
                String model = (String) field.getValue();
                if (!model.isEmpty() && !caller.grants(model)) {
                    return model;
                }
            } else if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE && namesAModel(f.getMessageType())) {
                for (Object value : f.isRepeated() ? (List<?>) field.getValue() : List.of(field.getValue())) {
                    String ungranted = firstUngranted((Message) value, caller);
                    if (ungranted != null) {
                        return ungranted;
                    }
                }
            }
        }
        return null;
    }

    private static Message visible(Message message, AccessTokens.Caller caller) {
        Message.Builder out = null;
        for (Map.Entry<FieldDescriptor, Object> field : message.getAllFields().entrySet()) {
            FieldDescriptor f = field.getKey();
            if (isModelId(f)) {
                String model = (String) field.getValue();
                if (!model.isEmpty() && !caller.grants(model)) {
                    // the request named no such model: the refusal must not tell the caller which one it was
                    throw Status.PERMISSION_DENIED.withDescription("token '" + caller.name() + "' is not granted "
                            + "the model this answer holds").asRuntimeException();
                }
                continue;
            }
            if (f.getJavaType() != FieldDescriptor.JavaType.MESSAGE || !namesAModel(f.getMessageType())) {
                continue;
            }
            if (!f.isRepeated()) {
                Message value = (Message) field.getValue();
                Message seen = visible(value, caller);
                if (seen != value) {
                    out = out == null ? message.toBuilder() : out;
                    out.setField(f, seen);
                }
                continue;
            }
            List<?> values = (List<?>) field.getValue();
            List<Message> kept = new java.util.ArrayList<>(values.size());
            boolean changed = false;
            for (Object v : values) {
                Message element = (Message) v;
                String own = ownModel(element);
                if (own != null && !caller.grants(own)) {
                    changed = true;
                    continue;
                }
                Message seen = visible(element, caller);
                changed |= seen != element;
                kept.add(seen);
            }
            if (changed) {
                out = out == null ? message.toBuilder() : out;
                out.setField(f, kept);
            }
        }
        return out == null ? message : out.build();
    }

    /** The element's own model_id; null when it has none (it is judged by what it holds). */
    private static String ownModel(Message element) {
        FieldDescriptor f = element.getDescriptorForType().findFieldByName(MODEL_ID);
        if (f == null || !isModelId(f) || !element.hasField(f)) {
            return null;
        }
        return (String) element.getField(f);
    }

    private static boolean isModelId(FieldDescriptor f) {
        return f.getName().equals(MODEL_ID) && !f.isRepeated() && f.getJavaType() == FieldDescriptor.JavaType.STRING;
    }

    static boolean namesAModel(Descriptor type) {
        Boolean known = NAMES_A_MODEL.get(type);
        if (known != null) {
            return known;
        }
        boolean names = namesAModel(type, new java.util.HashSet<>());
        NAMES_A_MODEL.put(type, names);
        return names;
    }

    private static boolean namesAModel(Descriptor type, java.util.Set<Descriptor> seen) {
        if (!seen.add(type)) {
            return false;
        }
        for (FieldDescriptor f : type.getFields()) {
            if (isModelId(f) || f.getJavaType() == FieldDescriptor.JavaType.MESSAGE
                    && namesAModel(f.getMessageType(), seen)) {
                return true;
            }
        }
        return false;
    }

    private static io.grpc.StatusRuntimeException denied(AccessTokens.Caller caller, String model) {
        return Status.PERMISSION_DENIED.withDescription(AccessTokens.notGranted(caller, model)).asRuntimeException();
    }
}
