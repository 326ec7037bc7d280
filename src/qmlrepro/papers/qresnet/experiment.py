"""A qresnet job runs one study (the model group's ``_target_``); nothing is evaluated on a
backend afterwards: the coherent network is far wider than any simulator here (see the report)."""

from hydra.utils import instantiate

from qmlrepro.errors import ConfigError
from qmlrepro.experiment import Experiment, RunContext
from qmlrepro.records import Records


class QresnetExperiment(Experiment):
    # gate-level errors, block fidelity, the tallies' query counts, the network's accuracies
    # and the emulation's agreement with the classical labels

    def _study(self):
        # partial: the paper node has a _target_ of its own and must not be instantiated
        return instantiate(self.cfg.model, _partial_=True)(
            paper=self.cfg.paper, dataset=self.cfg.dataset
        )

    def describe(self) -> dict:
        return self._study().describe()

    def train(self, ctx: RunContext) -> Records:
        return self._study().run(ctx)

    def evaluate(self, ctx: RunContext) -> Records:
        raise ConfigError(
            "qresnet has no evaluate stage: its circuits are checked exactly inside the train "
            "stage, and the coherent network (8x8 x 4 channels, 2 blocks: ~50 qubits at our "
            "construction's ancilla count) is too wide for the Aer backends"
        )
