"""Cohorts: definitions, static membership, calculation history and the REST behaviour around them."""
