"""Four-eyes: one mechanism for every request that a second person must decide (case closures, model promotions)."""
