"""Registers every schema with Hydra's ConfigStore, papers' own included.

A YAML option names its schema in its defaults list (``- mnist_schema``); papers register theirs
from ``qmlrepro.papers.<id>.config`` by exposing ``SCHEMAS = {name: dataclass}`` (group ``paper``)
and ``MODEL_SCHEMAS = {name: dataclass}`` (group ``model/<id>``, named by ``conf/model/<id>/*.yaml``
as ``- /model/<id>/<name>@_here_``).
"""

import importlib
from functools import cache

from hydra.core.config_store import ConfigStore

from qmlrepro.config.datasets import Cifar10Config, GaussianConfig, MnistConfig, SequenceConfig
from qmlrepro.config.schema import BackendConfig, ProfileConfig, RunConfig, TrackingConfig
from qmlrepro.papers import paper_modules


@cache
def register_schemas() -> None:
    cs = ConfigStore.instance()
    cs.store(name="run_schema", node=RunConfig)
    cs.store(group="profile", name="profile_schema", node=ProfileConfig)
    cs.store(group="tracking", name="tracking_schema", node=TrackingConfig)
    cs.store(group="backend", name="backend_schema", node=BackendConfig)
    for name, node in {
        "mnist_schema": MnistConfig,
        "gaussian_schema": GaussianConfig,
        "sequence_schema": SequenceConfig,
        "cifar10_schema": Cifar10Config,
    }.items():
        cs.store(group="dataset", name=name, node=node)
    for module_name in paper_modules("config"):
        module = importlib.import_module(module_name)
        for name, node in getattr(module, "SCHEMAS", {}).items():
            cs.store(group="paper", name=name, node=node, package="paper")
        paper_id = module_name.split(".")[-2]
        for name, node in getattr(module, "MODEL_SCHEMAS", {}).items():
            cs.store(group=f"model/{paper_id}", name=name, node=node)
