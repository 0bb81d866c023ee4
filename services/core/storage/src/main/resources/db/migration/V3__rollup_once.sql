-- Minute windows are rolled up into their hour and day once, after they close (allowed lateness included),
-- instead of rewriting the hour and day rows at every flush. The flag is set in the roll-up's own transaction;
-- a late delta for a minute already rolled up is merged into its hour and day in the flush's transaction.
ALTER TABLE tap_window ADD COLUMN rolled_up boolean NOT NULL DEFAULT false;
CREATE INDEX tap_window_to_roll_up ON tap_window (window_start) WHERE granularity = 'minute' AND NOT rolled_up;
