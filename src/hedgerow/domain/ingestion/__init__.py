"""Event ingestion: capture payloads become events and person changes, durably, through an outbox."""
