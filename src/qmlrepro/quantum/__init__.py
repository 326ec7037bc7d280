"""Running one Qiskit circuit everywhere: a batched differentiable torch statevector executor for
training, and Qiskit primitives (Aer, IBM Runtime) for evaluation."""
