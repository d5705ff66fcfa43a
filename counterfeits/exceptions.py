"""Domain errors raised by services; the API and the UI turn them into clear answers."""


class TransitionRefused(Exception):
    """A transition that the case's current state (or a rule) does not allow now."""

    def __init__(self, case: object, transition: str, why: str = "") -> None:
        self.case_id = getattr(case, "pk", None)
        self.state = getattr(case, "state", "")
        self.transition = transition
        self.why = why or f"'{transition}' is not allowed while the case is {self.state}"
        super().__init__(f"Case #{self.case_id}: {self.why}.")


class PermissionRefused(Exception):
    """The actor may not do this (e.g. decide an appeal on a case they confirmed)."""
