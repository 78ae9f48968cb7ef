"""The pilot trainer (optional extra ``cptlaw[pilot]``: torch + tokenizers).

Small LLaMA-style LMs (:mod:`.model`) trained on real corpora (:mod:`.corpora`, :mod:`.tokens`): pre-training,
then continual pre-training with replay (:mod:`.train`), over sweeps (:mod:`.sweep`), written in cptlaw's
native data format so ``cptlaw fit`` reads it with no glue.
"""
