"""Key rotation lives in core.services (an audited write); named here too for the callers
that know it as `core.keys`."""

from modelcvd.core.services import RotationResult, keys_rotate

__all__ = ["RotationResult", "keys_rotate"]
