// Conversations and agent executions through the wire against real PostgreSQL and Redis: field
// rules, paging, cascade delete, the execution lifecycle, totals, and the read-through cache.
import Foundation
import XCTest
import StoreClient
import StoreServerCore
import WireProtocol

final class ConversationTests: XCTestCase {
    private var server: Server!
    private var client: StoreClient!

    override func setUp() async throws {
        server = try await BackendFixture.server()
        client = try await StoreClient.connect(to: ClientConfiguration(port: server.port))
    }

    override func tearDown() async throws {
        await client?.close()
        await server?.shutdown()
    }

    private func uniqueUser(_ label: String = #function) -> String {
        "user-\(label.prefix { $0 != "(" })-\(UUID().uuidString.prefix(8))"
    }

    private func expectError(_ code: ErrorCode, field: String? = nil, file: StaticString = #filePath, line: UInt = #line,
                             _ call: () async throws -> Void) async {
        do {
            try await call()
            XCTFail("expected \(code)", file: file, line: line)
        } catch let StoreClientError.server(body) {
            XCTAssertEqual(body.code, code, body.message, file: file, line: line)
            if let field { XCTAssertEqual(body.details["field"], .string(field), file: file, line: line) }
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }

    func testCreateAppliesDefaultsAndRoundTripsMetadata() async throws {
        let before = Int64(Date().timeIntervalSince1970 * 1000) - 1000
        let metadata: ValueMap = [
            "int": .int(-9_007_199_254_740_993), "float": .float(2.0), "small": .float(1.5e-7), "big": .float(1e300),
            "text": .string("line\nbreak \"quoted\" \\ tab\t ünïcødé 🎉 \u{01}"), "flag": .bool(true), "nothing": .null,
            "nested": .map(["list": .list([.int(1), .float(0.5), .string("x"), .list([]), .map([:])])]),
        ]
        let created = try await client.createConversation(metadata: metadata)
        XCTAssertEqual(created.title, "New Conversation")
        XCTAssertNil(created.userID)
        XCTAssertEqual(created.id, created.id.lowercased())
        XCTAssertNotNil(UUID(uuidString: created.id))
        XCTAssertEqual(created.createdAtMilliseconds, created.updatedAtMilliseconds)
        XCTAssertGreaterThan(created.createdAtMilliseconds, before)
        XCTAssertEqual(created.metadata, metadata)
        let read = try await client.conversation(id: created.id)
        XCTAssertEqual(read, created)

        let chosen = UUID().uuidString  // upper case: normalized by the server
        let named = try await client.createConversation(id: chosen, title: String(repeating: "é", count: 255), userID: uniqueUser())
        XCTAssertEqual(named.id, chosen.lowercased())
        XCTAssertEqual(named.title.unicodeScalars.count, 255)
        await expectError(.conflict) { _ = try await self.client.createConversation(id: chosen) }
    }

    func testArgumentsAreValidated() async throws {
        await expectError(.invalidArgument, field: "title") {
            _ = try await self.client.createConversation(title: String(repeating: "a", count: 256))
        }
        await expectError(.invalidArgument, field: "id") { _ = try await self.client.createConversation(id: "not-a-uuid") }
        await expectError(.invalidArgument, field: "id") { _ = try await self.client.conversation(id: "x") }
        await expectError(.invalidArgument, field: "metadata") {
            _ = try await self.client.createConversation(metadata: ["blob": .bytes([1, 2])])
        }
        await expectError(.invalidArgument, field: "metadata") {
            _ = try await self.client.createConversation(metadata: ["nul": .string("a\u{0}b")])
        }
        await expectError(.invalidArgument, field: "user_id") { _ = try await self.client.createConversation(userID: "") }
        await expectError(.invalidArgument, field: "limit") { _ = try await self.client.listConversations(userID: nil, limit: 257) }
        await expectError(.invalidArgument, field: "continuation") {
            _ = try await self.client.listConversations(userID: nil, continuation: [9, 9, 9])
        }
        let conversation = try await client.createConversation()
        await expectError(.invalidArgument, field: "title") {
            _ = try await self.client.updateConversation(id: conversation.id, title: String(repeating: "b", count: 300))
        }
        await expectError(.notFound) { _ = try await self.client.conversation(id: UUID().uuidString) }
        await expectError(.notFound) { _ = try await self.client.updateConversation(id: UUID().uuidString, title: "t") }
        await expectError(.notFound) { _ = try await self.client.deleteConversation(id: UUID().uuidString) }
    }

    func testUpdateChangesFieldsAndTimestamps() async throws {
        let created = try await client.createConversation(title: "first", metadata: ["a": .int(1)])
        try await Task.sleep(for: .milliseconds(5))
        let renamed = try await client.updateConversation(id: created.id, title: "second")
        XCTAssertEqual(renamed.title, "second")
        XCTAssertEqual(renamed.metadata, ["a": .int(1)], "absent metadata is left alone")
        XCTAssertEqual(renamed.createdAtMilliseconds, created.createdAtMilliseconds)
        XCTAssertGreaterThan(renamed.updatedAtMilliseconds, created.updatedAtMilliseconds)
        let remapped = try await client.updateConversation(id: created.id, metadata: ["b": .string("x")])
        XCTAssertEqual(remapped.title, "second")
        XCTAssertEqual(remapped.metadata, ["b": .string("x")])
        let read = try await client.conversation(id: created.id)
        XCTAssertEqual(read, remapped)
    }

    func testListByUserNewestFirstWithContinuation() async throws {
        let user = uniqueUser()
        var ids: [String] = []
        for index in 0..<7 {
            ids.append(try await client.createConversation(title: "c\(index)", userID: user).id)
        }
        _ = try await client.createConversation(title: "someone else", userID: uniqueUser("other"))
        var seen: [ConversationRecord] = []
        var continuation: [UInt8]?
        var pages = 0
        repeat {
            let page = try await client.listConversations(userID: user, limit: 3, continuation: continuation)
            XCTAssertLessThanOrEqual(page.conversations.count, 3)
            seen += page.conversations
            continuation = page.continuation
            pages += 1
        } while continuation != nil && pages < 10
        XCTAssertEqual(pages, 3)
        XCTAssertEqual(seen.map(\.id), Array(ids.reversed()), "newest first, each once")
        XCTAssertTrue(seen.allSatisfy { $0.userID == user })
        for (newer, older) in zip(seen, seen.dropFirst()) {
            XCTAssertGreaterThanOrEqual(newer.createdAtMilliseconds, older.createdAtMilliseconds)
        }
        let exact = try await client.listConversations(userID: user, limit: 7)
        XCTAssertEqual(exact.conversations.count, 7)
        XCTAssertNil(exact.continuation, "no token when nothing follows")
        let none = try await client.listConversations(userID: uniqueUser("nobody"))
        XCTAssertTrue(none.conversations.isEmpty)
        XCTAssertNil(none.continuation)
    }

    func testExecutionLifecycleAndIllegalTransitions() async throws {
        let conversation = try await client.createConversation()
        let pending = try await client.createExecution(ExecutionCreateRequest(
            conversationID: conversation.id, agentName: "planner", agentType: "supervisor",
            input: .map(["task": .string("plan")]), metadata: ["k": .int(1)], start: false))
        XCTAssertEqual(pending.status, .pending)
        XCTAssertNil(pending.startedAtMilliseconds)
        XCTAssertEqual(pending.output, .null)
        XCTAssertEqual(pending.input, .map(["task": .string("plan")]))
        await expectError(.conflict) { _ = try await self.client.completeExecution(id: pending.id, output: .null, tokensUsed: 1) }
        await expectError(.conflict) { _ = try await self.client.failExecution(id: pending.id, errorMessage: "x", tokensUsed: 1) }

        let running = try await client.startExecution(id: pending.id)
        XCTAssertEqual(running.status, .running)
        XCTAssertNotNil(running.startedAtMilliseconds)
        await expectError(.conflict) { _ = try await self.client.startExecution(id: pending.id) }
        try await Task.sleep(for: .milliseconds(20))
        let completed = try await client.completeExecution(id: pending.id, output: .list([.string("step")]), tokensUsed: 1234)
        XCTAssertEqual(completed.status, .completed)
        XCTAssertEqual(completed.output, .list([.string("step")]))
        XCTAssertEqual(completed.tokensUsed, 1234)
        let started = try XCTUnwrap(completed.startedAtMilliseconds)
        let finished = try XCTUnwrap(completed.completedAtMilliseconds)
        XCTAssertEqual(completed.durationMilliseconds, finished - started)
        XCTAssertGreaterThanOrEqual(completed.durationMilliseconds ?? 0, 20)
        await expectError(.conflict) { _ = try await self.client.failExecution(id: pending.id, errorMessage: "late", tokensUsed: 0) }
        await expectError(.conflict) { _ = try await self.client.startExecution(id: pending.id) }
        await expectError(.conflict) { _ = try await self.client.completeExecution(id: pending.id, output: .null, tokensUsed: 0) }

        let worker = try await client.createExecution(ExecutionCreateRequest(
            conversationID: conversation.id, agentName: "coder", agentType: "worker", input: .string("go")))
        XCTAssertEqual(worker.status, .running, "start: true creates it running")
        let failed = try await client.failExecution(id: worker.id, errorMessage: "tool crashed", tokensUsed: 7)
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.errorMessage, "tool crashed")
        XCTAssertNotNil(failed.durationMilliseconds)
        await expectError(.conflict) { _ = try await self.client.completeExecution(id: worker.id, output: .null, tokensUsed: 0) }

        let fetched = try await client.execution(id: pending.id)
        XCTAssertEqual(fetched, completed)
        await expectError(.notFound) { _ = try await self.client.startExecution(id: UUID().uuidString) }
        await expectError(.notFound) { _ = try await self.client.execution(id: UUID().uuidString) }
        await expectError(.notFound) {
            _ = try await self.client.createExecution(ExecutionCreateRequest(
                conversationID: UUID().uuidString, agentName: "a", agentType: "b", input: .null))
        }
        await expectError(.invalidArgument, field: "tokens_used") {
            _ = try await self.client.completeExecution(id: worker.id, output: .null, tokensUsed: .max)
        }
        await expectError(.invalidArgument, field: "agent_name") {
            _ = try await self.client.createExecution(ExecutionCreateRequest(
                conversationID: conversation.id, agentName: "", agentType: "b", input: .null))
        }
    }

    func testListExecutionsStreamsEveryPageAndDeleteCascades() async throws {
        let conversation = try await client.createConversation()
        let count = 300
        var ids: [String] = []
        for index in 0..<count {
            let record = try await client.createExecution(ExecutionCreateRequest(
                conversationID: conversation.id, agentName: "agent-\(index % 3)", agentType: "worker", input: .int(Int64(index))))
            ids.append(record.id)
        }
        let listed = try await client.executions(conversationID: conversation.id)
        XCTAssertEqual(listed.count, count)
        XCTAssertEqual(Set(listed.map(\.id)), Set(ids))
        XCTAssertEqual(listed.map(\.input), (0..<count).map { .int(Int64($0)) }, "oldest first")

        let empty = try await client.createConversation()
        let none = try await client.executions(conversationID: empty.id)
        XCTAssertTrue(none.isEmpty)
        await expectError(.notFound) { _ = try await self.client.executions(conversationID: UUID().uuidString) }

        let deleted = try await client.deleteConversation(id: conversation.id)
        XCTAssertEqual(deleted, UInt64(count))
        await expectError(.notFound) { _ = try await self.client.conversation(id: conversation.id) }
        await expectError(.notFound) { _ = try await self.client.execution(id: ids[0]) }
        await expectError(.notFound) { _ = try await self.client.executions(conversationID: conversation.id) }
        let backends = try await BackendFixture.backends()
        let rows = try await backends.postgres.query(
            "SELECT count(*) FROM agent_executions WHERE conversation_id = $1::uuid", [.text(conversation.id)])
        XCTAssertEqual(rows.int64(row: 0, column: 0), 0)
    }

    func testTotalsPerAgentOverATimeRange() async throws {
        let conversation = try await client.createConversation()
        func run(_ agent: String, tokens: UInt64, fail: Bool = false) async throws -> ExecutionRecord {
            let record = try await client.createExecution(ExecutionCreateRequest(
                conversationID: conversation.id, agentName: agent, agentType: "worker", input: .null))
            return fail
                ? try await client.failExecution(id: record.id, errorMessage: "e", tokensUsed: tokens)
                : try await client.completeExecution(id: record.id, output: .null, tokensUsed: tokens)
        }
        let early = try await run("alpha", tokens: 100)
        try await Task.sleep(for: .milliseconds(30))
        let boundary = Int64(Date().timeIntervalSince1970 * 1000)
        try await Task.sleep(for: .milliseconds(30))
        let a2 = try await run("alpha", tokens: 10)
        let a3 = try await run("alpha", tokens: 5, fail: true)
        let b1 = try await run("beta", tokens: 1)
        _ = try await client.createExecution(ExecutionCreateRequest(
            conversationID: conversation.id, agentName: "gamma", agentType: "worker", input: .null, start: false))

        let all = try await client.executionTotals(conversationID: conversation.id)
        XCTAssertEqual(all.map(\.agentName), ["alpha", "beta", "gamma"])
        XCTAssertEqual(all[0].executions, 3)
        XCTAssertEqual(all[0].tokensUsed, 115)
        let alphaDuration = [early, a2, a3].compactMap(\.durationMilliseconds).reduce(0, +)
        XCTAssertEqual(all[0].durationMilliseconds, UInt64(alphaDuration))
        XCTAssertEqual(all[1].tokensUsed, 1)
        XCTAssertEqual(all[1].durationMilliseconds, UInt64(b1.durationMilliseconds ?? -1))
        XCTAssertEqual(all[2].executions, 1)
        XCTAssertEqual(all[2].tokensUsed, 0)
        XCTAssertEqual(all[2].durationMilliseconds, 0, "a pending execution has no duration")

        let later = try await client.executionTotals(sinceMilliseconds: boundary, conversationID: conversation.id)
        XCTAssertEqual(later.first { $0.agentName == "alpha" }?.tokensUsed, 15)
        XCTAssertEqual(later.first { $0.agentName == "alpha" }?.executions, 2)
        let earlier = try await client.executionTotals(untilMilliseconds: boundary, conversationID: conversation.id)
        XCTAssertEqual(earlier.map(\.agentName), ["alpha"])
        XCTAssertEqual(earlier.first?.tokensUsed, 100)
        await expectError(.invalidArgument, field: "until_ms") {
            _ = try await self.client.executionTotals(sinceMilliseconds: 10, untilMilliseconds: 5)
        }
    }

    func testReadsAreServedFromTheCacheAndNeverStaleAfterAWrite() async throws {
        let backends = try await BackendFixture.backends()
        let conversation = try await client.createConversation(title: "v0")
        _ = try await client.conversation(id: conversation.id)
        // The read filled the cache: the record sits under the server's record key space.
        let key = Array("r:conversation:\(conversation.id)".utf8)
        let cached = try await backends.cache.get(key)
        XCTAssertNotNil(cached, "a read fills the cache")
        // Served from the cache: a change made behind the server's back is not seen...
        _ = try await backends.postgres.query("UPDATE conversations SET title = 'behind' WHERE id = $1::uuid",
                                              [.text(conversation.id)])
        let fromCache = try await client.conversation(id: conversation.id)
        XCTAssertEqual(fromCache.title, "v0")
        // ...while every write through the server invalidates, and readers racing the writes
        // never make an old value visible after the write answered.
        let readers = (0..<4).map { _ in
            Task { [client] in
                for _ in 0..<150 { _ = try? await client!.conversation(id: conversation.id) }  // Only racing matters here.
            }
        }
        for version in 1...40 {
            _ = try await client.updateConversation(id: conversation.id, title: "v\(version)")
            let read = try await client.conversation(id: conversation.id)
            XCTAssertEqual(read.title, "v\(version)")
        }
        for reader in readers { await reader.value }
        try await client.deleteConversation(id: conversation.id)
        await expectError(.notFound) { _ = try await self.client.conversation(id: conversation.id) }
        let afterDelete = try await backends.cache.get(key)
        XCTAssertNil(afterDelete)
    }

    func testBackgroundRefreshKeepsRecentlyActiveConversationsWarm() async throws {
        let backends = try await BackendFixture.backends()
        // The domain reads the interval from the backends' configuration, so build its own.
        var configuration = backends.configuration
        configuration.port = 0
        configuration.cacheHotReloadInterval = .milliseconds(200)
        let warmBackends = Backends(postgres: backends.postgres, cache: backends.cache, configuration: configuration,
                                    logger: backends.logger)
        let warm = Server(configuration: configuration, router: DomainCatalogue.router(for: warmBackends),
                          logger: backends.logger)
        _ = try warm.start()
        let warmClient = try await StoreClient.connect(to: ClientConfiguration(port: warm.port))
        let conversation = try await warmClient.createConversation(title: "hot")  // starts the refresh
        let key = Array("r:conversation:\(conversation.id)".utf8)
        let before = try await backends.cache.get(key)
        XCTAssertNil(before, "nothing read it yet")
        var cached: [UInt8]?
        let deadline = ContinuousClock.now + .seconds(5)
        while cached == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            cached = try await backends.cache.get(key)
        }
        XCTAssertNotNil(cached, "the refresh put the recently created conversation in the cache")
        // A write after the refresh is still seen at once.
        _ = try await warmClient.updateConversation(id: conversation.id, title: "hotter")
        let read = try await warmClient.conversation(id: conversation.id)
        XCTAssertEqual(read.title, "hotter")
        await warmClient.close()
        await warm.shutdown()
    }
}
