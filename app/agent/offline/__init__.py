"""The offline assistant: a pipeline with no model, one module per stage.

normalise -> extract (places in `places`) -> intent -> dialogue state -> plan -> compose;
the words it knows are data in `vocabulary`; `provider` puts it behind the agent loop.
"""
