"""Pipeline steps: one registered step per module. See ``curate.steps.base`` for the contract."""
