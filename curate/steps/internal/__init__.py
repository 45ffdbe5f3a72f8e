"""What the compiler inserts around the registered steps (``steps``) and the patches of datatrove internals
(``datatrove_patches``). Nothing here is registered or named in YAML."""
