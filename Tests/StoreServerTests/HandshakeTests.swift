// Connection start: preface, hello, version negotiation, foreign protocols, authentication.
import XCTest
import StoreServerCore
import WireProtocol

final class HandshakeTests: XCTestCase {
    func testHelloAnnouncesLimitsAndCapabilities() throws {
        let server = try makeTestServer { $0.limits.inFlightRequestsMax = 77 }
        let connection = try RawConnection(port: server.port)
        let hello = try connection.handshake()
        XCTAssertEqual(hello.version, 1)
        XCTAssertEqual(hello.limits.inFlightRequestsMax, 77)
        XCTAssertEqual(hello.limits.frameBodyBytesMax, ProtocolLimits.frameBodyBytesMaxDefault)
        XCTAssertFalse(hello.authenticationRequired)
        XCTAssertEqual(hello.capabilities["checksum"], .string("none"))
        let pong = try connection.request(.ping, body: PingMessage(payload: 99).encodedBody)
        XCTAssertEqual(try PingMessage.decode(body: pong.body).payload, 99)
    }

    func testUnsupportedVersionCarriesTheServerRange() throws {
        let server = try makeTestServer()
        let connection = try RawConnection(port: server.port)
        XCTAssertThrowsError(try connection.handshake(minVersion: 2, maxVersion: 5)) { error in
            let body = error as? ErrorBody
            XCTAssertEqual(body?.code, .unsupportedVersion)
            XCTAssertEqual(body?.details["min_version"], .int(1))
            XCTAssertEqual(body?.details["max_version"], .int(1))
        }
        XCTAssertEqual(try connection.readUntilClosed().count, 0)
    }

    func testForeignProtocolsGetAReadableErrorAndAClose() throws {
        let server = try makeTestServer()
        let foreign: [(String, [UInt8])] = [
            ("TLS", [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03] + [UInt8](repeating: 0xAB, count: 200)),
            ("HTTP", Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)),
            ("RESP", Array("*1\r\n$4\r\nPING\r\n".utf8)),
            ("PostgreSQL", [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F]),
        ]
        for (name, bytes) in foreign {
            let connection = try RawConnection(port: server.port)
            try connection.write(bytes)
            let frames = try connection.readUntilClosed()
            XCTAssertEqual(frames.count, 1, name)
            let error = try XCTUnwrap(frames.first?.errorBody, name)
            XCTAssertEqual(error.code, .malformedFrame, name)
            XCTAssertEqual(frames.first?.opcode, .hello, "errors answering the preface take the hello's place")
            XCTAssertTrue(error.flags.contains(.connectionFatal), name)
            XCTAssertTrue(error.message.lowercased().contains(name == "PostgreSQL" ? "postgresql" : name.lowercased()),
                          "\(name): \(error.message)")
        }
        // The server is unharmed.
        let healthy = try RawConnection(port: server.port)
        try healthy.handshake()
        XCTAssertNil(try healthy.request(.ping, body: PingMessage(payload: 1).encodedBody).errorBody)
    }

    func testChecksumsAreNegotiatedAndVerified() throws {
        let server = try makeTestServer()
        let connection = try RawConnection(port: server.port)
        let hello = try connection.handshake(features: .checksums)
        XCTAssertTrue(hello.checksumsEnabled)
        let body = PingMessage(payload: 5).encodedBody
        let frame = Frame(header: FrameHeader(bodyLength: 8, opcode: .ping, flags: [], requestID: 1), body: body)
        try connection.write(frame.encoded(withChecksum: true))
        let pong = try connection.readFrame()
        XCTAssertTrue(pong.flags.contains(.checksum))
        XCTAssertEqual(pong.header.checksum, CRC32C.checksum(pong.body))
        var corrupted = Frame(header: FrameHeader(bodyLength: 8, opcode: .ping, flags: [], requestID: 2), body: body)
            .encoded(withChecksum: true)
        corrupted[corrupted.count - 1] ^= 0x01
        try connection.write(corrupted)
        let frames = try connection.readUntilClosed()
        XCTAssertEqual(frames.first?.errorBody?.code, .checksumMismatch)
    }

    func testTokenAuthentication() throws {
        let server = try makeTestServer { $0.authTokens = [("fleet", "s3cret-token")] }
        let connection = try RawConnection(port: server.port)
        let hello = try connection.handshake()
        XCTAssertTrue(hello.authenticationRequired)
        XCTAssertEqual(hello.capabilities["auth_mechanisms"], .list([.string("token")]))
        // Ping is allowed before auth.
        XCTAssertNil(try connection.request(.ping, body: PingMessage(payload: 1).encodedBody).errorBody)
        let failed = try connection.request(.auth, body: AuthRequest(credential: Array("wrong".utf8)).encodedBody)
        XCTAssertEqual(failed.errorBody?.code, .authFailed)
        XCTAssertFalse(failed.errorBody!.flags.contains(.retryable))
        let accepted = try connection.request(.auth, body: AuthRequest(credential: Array("s3cret-token".utf8)).encodedBody)
        XCTAssertNil(accepted.errorBody)
        XCTAssertEqual(try AuthResponse.decode(body: accepted.body).principal, "fleet")
        XCTAssertNil(try connection.request(.health).errorBody)
    }

    func testRequestBeforeAuthClosesTheConnection() throws {
        let server = try makeTestServer { $0.authTokens = [("fleet", "s3cret-token")] }
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        try connection.send(.health)
        let frames = try connection.readUntilClosed()
        XCTAssertEqual(frames.count, 1)
        XCTAssertEqual(frames.first?.errorBody?.code, .authRequired)
    }

    func testRepeatedAuthFailuresAreSlowedThenClosed() throws {
        let server = try makeTestServer { $0.authTokens = [("fleet", "s3cret-token")] }
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        let start = ContinuousClock.now
        var codes: [ErrorCode] = []
        for _ in 0..<Authenticator.failuresBeforeClose {
            codes.append(try connection.request(.auth, body: AuthRequest(credential: Array("nope".utf8)).encodedBody).errorBody!.code)
        }
        // 100 + 200 + 400 + 800 + 1600 ms of delay.
        XCTAssertGreaterThan(ContinuousClock.now - start, .milliseconds(3000))
        XCTAssertEqual(codes, Array(repeating: .authFailed, count: Authenticator.failuresBeforeClose))
        XCTAssertEqual(try connection.readUntilClosed().count, 0)
    }

    func testPreAuthFrameLimitIsSmall() throws {
        let server = try makeTestServer { $0.authTokens = [("fleet", "s3cret-token")] }
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        let header = FrameHeader(bodyLength: UInt32(ProtocolLimits.unauthenticatedFrameBodyBytesMax + 1), opcode: .auth,
                                 flags: [], requestID: 1)
        var writer = ByteWriter()
        header.write(into: &writer)
        try connection.write(writer.bytes)
        let frames = try connection.readUntilClosed()
        XCTAssertEqual(frames.first?.errorBody?.code, .frameTooLarge)
    }

    func testTokenHashingAndConstantTimeComparison() {
        // FIPS 180-2 test vectors.
        XCTAssertEqual(Hex.string(SHA256.hash(Array("abc".utf8))),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Hex.string(SHA256.hash([])),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(Hex.string(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let authenticator = Authenticator(tokens: [("a", "one"), ("b", "two")])
        XCTAssertEqual(authenticator.principal(for: Array("two".utf8)), "b")
        XCTAssertNil(authenticator.principal(for: Array("three".utf8)))
        XCTAssertFalse(constantTimeEquals([1, 2], [1, 3]))
        XCTAssertTrue(constantTimeEquals([1, 2], [1, 2]))
    }
}
