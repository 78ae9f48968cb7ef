"""The log kinds cptlaw reads (one reader each in :mod:`cptlaw.ingest`) and the pip extra each needs: names only,
so that the command line can list them without importing the readers."""

KINDS = ("native", "hf", "tensorboard", "megatron", "table", "mlflow", "wandb", "wandb-api")
EXTRAS = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb", "wandb-api": "wandb"}  # kind -> extra
