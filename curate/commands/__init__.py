"""Every click command of `curate`, one module per command group; curate/cli.py only assembles them, loading a
module when its command is used (`import curate` stays light). The libraries they call hold no click:

* ``pipeline``: run, steps           * ``query``: sql, inspect          * ``plan``: plan
* ``audit``: audit                   * ``calibrate``: calibrate         * ``classifier``: classifier train
* ``decontam``: decontam index
"""
