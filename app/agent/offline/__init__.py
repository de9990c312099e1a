"""The offline assistant: rule-based understanding (parse) and writing (compose), no model."""
