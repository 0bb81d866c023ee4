package ai.neuraldivergence.domain.query;

/** Checks the query records share. */
final class Queries {

    private Queries() {
    }

    static void require(Object value, String selectionName) {
        if (value == null) {
            throw new IllegalArgumentException("selection " + selectionName + " is required");
        }
    }

    static void requireText(String value, String field) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(field + " is required");
        }
    }
}
