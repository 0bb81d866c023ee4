package ai.neuraldivergence.traffic;

import java.util.ArrayList;
import java.util.List;

/** A sequence of scenarios with durations, e.g. {@code benign:120,fgsm:60,benign:60,fashion:60}. */
public record Schedule(List<Step> steps) {

    public record Step(Scenario scenario, int seconds) {
    }

    public static Schedule parse(String spec) {
        List<Step> steps = new ArrayList<>();
        for (String part : spec.split(",")) {
            String[] kv = part.trim().split(":");
            if (kv.length != 2) {
                throw new IllegalArgumentException("schedule steps are scenario:seconds, got '" + part + "'");
            }
            int seconds;
            try {
                seconds = Integer.parseInt(kv[1]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("seconds must be a number, got '" + kv[1] + "'");
            }
            if (seconds <= 0) {
                throw new IllegalArgumentException("seconds must be > 0, got " + seconds);
            }
            steps.add(new Step(Scenario.fromWord(kv[0]), seconds));
        }
        if (steps.isEmpty()) {
            throw new IllegalArgumentException("the schedule is empty");
        }
        return new Schedule(List.copyOf(steps));
    }

    /** The step running {@code elapsedSeconds} into the schedule, looping when it ends. */
    public Step at(long elapsedSeconds) {
        long total = steps.stream().mapToLong(Step::seconds).sum();
        long t = elapsedSeconds % total;
        for (Step s : steps) {
            if (t < s.seconds()) {
                return s;
            }
            t -= s.seconds();
        }
        return steps.get(steps.size() - 1);
    }
}
