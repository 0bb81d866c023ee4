package ai.neuraldivergence.inference.auth;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The scope a REST endpoint needs, beside it. An endpoint without one needs every scope: a new endpoint is closed
 * to scoped tokens until it says which scope opens it.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE})
public @interface RequiresScope {
    String value();
}
