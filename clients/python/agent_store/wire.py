"""One import for the whole codec: values, frames and session messages (protocol-spec.md
sections 1-5). No sockets and no asyncio, so the test vectors check it directly."""
from .codes import *  # noqa: F401,F403
from .crc32c import crc32c  # noqa: F401
from .errors import DecodeError, ProtocolError  # noqa: F401
from .frames import (  # noqa: F401
    ChunkAssembler, Frame, FrameDecoder, FrameHeader, Message, Preface, decode_header,
    decode_preface, encode_frame, encode_header, encode_message, encode_preface, validate_header,
)
from .messages import (  # noqa: F401
    AuthRequest, BackendHealth, ErrorBody, GoAway, Health, Hello, decode_auth_request,
    decode_auth_response, decode_error, decode_go_away, decode_health, decode_hello, decode_ping,
    encode_auth_request, encode_auth_response, encode_error, encode_go_away, encode_health,
    encode_hello, encode_ping,
)
from .values import (  # noqa: F401
    Reader, Writer, decode_value, decode_vector, encode_value, encode_vector,
)
