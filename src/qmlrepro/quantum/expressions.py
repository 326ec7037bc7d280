"""Gate angles as torch functions of the circuit's parameters (inputs and weights).

Plain parameters become column gathers; other ``ParameterExpression``s are walked as SymPy trees
into torch ops, so ``a * theta + c`` stays differentiable in ``a``, ``c`` and ``theta``.
"""

from collections.abc import Callable, Sequence

import sympy
import torch
from qiskit.circuit import Parameter, ParameterExpression

from qmlrepro.errors import QmlreproError

AngleFn = Callable[[torch.Tensor], torch.Tensor]  # (B, P) parameter values -> (B,) angles

_FUNCS: dict[type, Callable[[torch.Tensor], torch.Tensor]] = {
    sympy.sin: torch.sin,
    sympy.cos: torch.cos,
    sympy.tan: torch.tan,
    sympy.exp: torch.exp,
    sympy.log: torch.log,
    sympy.asin: torch.asin,
    sympy.acos: torch.acos,
    sympy.atan: torch.atan,
}


class UnsupportedExpression(QmlreproError):
    """A parameter expression uses an operation the torch executor cannot differentiate."""


def _compile_sympy(node: sympy.Expr, columns: dict[str, int]) -> AngleFn:
    if node.is_Number:
        value = float(node)
        return lambda values: values.new_full(values.shape[:1], value)
    if node.is_Symbol:
        col = columns[node.name]
        return lambda values: values[:, col]
    args = [_compile_sympy(a, columns) for a in node.args]
    if node.is_Add:
        return lambda values: sum(f(values) for f in args)
    if node.is_Mul:

        def product(values: torch.Tensor) -> torch.Tensor:
            out = args[0](values)
            for f in args[1:]:
                out = out * f(values)
            return out

        return product
    if node.is_Pow:
        base, exponent = args
        return lambda values: base(values) ** exponent(values)
    func = _FUNCS.get(node.func)
    if func is not None:
        (inner,) = args
        return lambda values: func(inner(values))
    raise UnsupportedExpression(
        f"parameter expression {node} uses {node.func}, not supported in torch"
    )


def compile_angle(param: object, columns: dict[str, int]) -> tuple[int | None, AngleFn | float]:
    """(column, None-fn) for a plain parameter, (None, fn) for an expression, (None, float) for a
    number."""
    if isinstance(param, Parameter):
        return columns[param.name], 0.0
    if isinstance(param, ParameterExpression):
        if not param.parameters:
            return None, float(param)
        return None, _compile_sympy(param.sympify(), columns)
    return None, float(param)


def depends_on(param: object) -> set[str]:
    """Names of the circuit parameters a gate angle depends on."""
    if isinstance(param, ParameterExpression):
        return {p.name for p in param.parameters}
    return set()


def parameter_columns(params: Sequence[Parameter]) -> dict[str, int]:
    return {p.name: i for i, p in enumerate(params)}
