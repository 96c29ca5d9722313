"""Server errors and client errors are distinct classes with the same retry properties."""
from agent_store import (
    ClientError, ClientTimeoutError, ConnectionFailedError, ConnectionLostError, ErrorCode,
    ProtocolViolationError, ServerError, StoreError,
)


def test_server_error_properties_come_from_the_frame_flags():
    error = ServerError(400, 0x5, "deadline passed", {"limit": 1})
    assert error.code == ErrorCode.DEADLINE_EXCEEDED
    assert error.retryable and error.outcome_unknown and not error.fatal
    assert isinstance(error, StoreError) and not isinstance(error, ClientError)
    # The frame's flags win over the table's usual ones.
    assert not ServerError(400, 0, "x").retryable
    unknown = ServerError(999, 0x2, "from a newer server")
    assert int(unknown.code) == 999 and unknown.fatal


def test_client_errors():
    for error, retryable, outcome_unknown in [
        (ConnectionLostError("lost"), True, True),
        (ClientTimeoutError("slow"), True, True),
        (ConnectionFailedError("refused"), True, False),
        (ProtocolViolationError("bad"), False, True),
        (ProtocolViolationError("crc", ErrorCode.CHECKSUM_MISMATCH), True, True),
    ]:
        assert isinstance(error, ClientError) and isinstance(error, StoreError)
        assert not isinstance(error, ServerError)
        assert (error.retryable, error.outcome_unknown) == (retryable, outcome_unknown)
