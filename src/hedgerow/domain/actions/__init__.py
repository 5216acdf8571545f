"""Actions: named event definitions (steps) that behavioral cohort criteria may refer to."""
