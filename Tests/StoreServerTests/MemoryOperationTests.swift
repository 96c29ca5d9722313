// Memories against real PostgreSQL: put/get/delete, namespaces, filters, batch, list namespaces.
import Foundation
import XCTest
import StoreClient
import StoreServerCore
import WireProtocol

final class MemoryOperationTests: XCTestCase {
    func testPutGetReplaceDelete() async throws {
        let fixture = try await MemoryTestServer.start()
        let client = fixture.client
        let namespace = [MemoryTestData.uniqueRoot(), "prefs"]
        let first = try await client.putMemory(MemoryPutRequest(namespace: namespace, key: "k", value: #"{"theme":"dark","n":1}"#))
        XCTAssertEqual(first.namespace, namespace)
        XCTAssertEqual(first.key, "k")
        XCTAssertEqual(MemoryTestData.json(first.value), ["theme": "dark", "n": 1])
        XCTAssertNil(first.expiresAtMicroseconds)
        XCTAssertEqual(first.createdAtMicroseconds, first.updatedAtMicroseconds)
        let fetched = try await client.memory(namespace: namespace, key: "k")
        XCTAssertEqual(fetched, first)

        try await Task.sleep(for: .milliseconds(5))
        let second = try await client.putMemory(MemoryPutRequest(namespace: namespace, key: "k", value: #"{"theme":"light"}"#))
        XCTAssertEqual(second.createdAtMicroseconds, first.createdAtMicroseconds, "a replace keeps created_at")
        XCTAssertGreaterThan(second.updatedAtMicroseconds, first.updatedAtMicroseconds)
        let replaced = try await client.memory(namespace: namespace, key: "k")
        XCTAssertEqual(MemoryTestData.json(replaced?.value ?? ""), ["theme": "light"])

        try await client.deleteMemory(namespace: namespace, key: "k")
        let afterDelete = try await client.memory(namespace: namespace, key: "k")
        XCTAssertNil(afterDelete)
        try await client.deleteMemory(namespace: namespace, key: "k") // Deleting a missing item is fine.
        let missing = try await client.memory(namespace: namespace + ["other"], key: "k")
        XCTAssertNil(missing)
        await fixture.stop()
    }

    func testInvalidNamespacesKeysAndValuesAreRefused() async throws {
        let fixture = try await MemoryTestServer.start()
        let client = fixture.client
        let root = MemoryTestData.uniqueRoot()
        for namespace in [[], [root, ""], [root, "a.b"]] {
            await XCTAssertServerError(.invalidArgument) {
                _ = try await client.putMemory(MemoryPutRequest(namespace: namespace, key: "k", value: "{}"))
            }
        }
        for value in ["[1,2]", "3", "not json", ""] {
            await XCTAssertServerError(.invalidArgument) {
                _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "k", value: value))
            }
        }
        await XCTAssertServerError(.invalidArgument) {
            _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "k", value: "{}", timeToLiveMilliseconds: 0))
        }
        await XCTAssertServerError(.invalidArgument) {
            _ = try await client.searchMemories(MemorySearchRequest(namespacePrefix: [root], limit: 0))
        }
        await XCTAssertServerError(.invalidArgument) {
            _ = try await client.searchMemories(MemorySearchRequest(namespacePrefix: [root], filter: #"{"a":{"$regex":"x"}}"#))
        }
        await XCTAssertServerError(.invalidArgument) {
            _ = try await client.searchMemories(MemorySearchRequest(namespacePrefix: [root], filter: "[1]"))
        }
        await fixture.stop()
    }

    func testPrefixMatchingRespectsLabelBoundaries() async throws {
        let fixture = try await MemoryTestServer.start()
        let client = fixture.client
        let root = MemoryTestData.uniqueRoot()
        for (namespace, key) in [([root, "users", "a"], "1"), ([root, "users", "a", "deep"], "2"),
                                 ([root, "users", "ab"], "3"), ([root, "usersx"], "4")] {
            _ = try await client.putMemory(MemoryPutRequest(namespace: namespace, key: key, value: "{}"))
        }
        func keys(_ prefix: [String]) async throws -> [String] {
            try await client.searchMemories(MemorySearchRequest(namespacePrefix: prefix, limit: 100)).map(\.item.key).sorted()
        }
        let underA = try await keys([root, "users", "a"])
        XCTAssertEqual(underA, ["1", "2"], "(users, a) must not match (users, ab)")
        let underUsers = try await keys([root, "users"])
        XCTAssertEqual(underUsers, ["1", "2", "3"], "(users) must not match (usersx)")
        let all = try await keys([root])
        XCTAssertEqual(all, ["1", "2", "3", "4"])
        let exact = try await keys([root, "users", "a", "deep"])
        XCTAssertEqual(exact, ["2"])
        // LIKE wildcards in labels are ordinary characters.
        _ = try await client.putMemory(MemoryPutRequest(namespace: [root, "a_%"], key: "5", value: "{}"))
        _ = try await client.putMemory(MemoryPutRequest(namespace: [root, "ab%"], key: "6", value: "{}"))
        let percent = try await keys([root, "a_%"])
        XCTAssertEqual(percent, ["5"])
        await fixture.stop()
    }

    func testSearchWithoutQueryOrdersByUpdateAndPages() async throws {
        let fixture = try await MemoryTestServer.start()
        let client = fixture.client
        let namespace = [MemoryTestData.uniqueRoot()]
        for index in 0..<7 {
            _ = try await client.putMemory(MemoryPutRequest(namespace: namespace, key: "k\(index)", value: "{}"))
        }
        _ = try await client.putMemory(MemoryPutRequest(namespace: namespace, key: "k2", value: #"{"touched":true}"#))
        let all = try await client.searchMemories(MemorySearchRequest(namespacePrefix: namespace, limit: 100))
        XCTAssertEqual(all.map(\.item.key), ["k2", "k6", "k5", "k4", "k3", "k1", "k0"])
        XCTAssertTrue(all.allSatisfy { $0.score == nil })
        let page = try await client.searchMemories(MemorySearchRequest(namespacePrefix: namespace, limit: 2, offset: 3))
        XCTAssertEqual(page.map(\.item.key), ["k4", "k3"])
        await fixture.stop()
    }

    func testFiltersWithOperatorsAndNestedFields() async throws {
        let fixture = try await MemoryTestServer.start()
        let client = fixture.client
        let namespace = [MemoryTestData.uniqueRoot(), "docs"]
        let values = [
            "a": #"{"kind":"note","n":1,"meta":{"lang":"en","stars":5},"tags":["x","y"]}"#,
            "b": #"{"kind":"note","n":2.5,"meta":{"lang":"fr","stars":3}}"#,
            "c": #"{"kind":"todo","n":10,"meta":{"lang":"en"},"done":null}"#,
            "d": #"{"kind":"todo","name":"zeta"}"#,
        ]
        for (key, value) in values {
            _ = try await client.putMemory(MemoryPutRequest(namespace: namespace, key: key, value: value))
        }
        func keys(_ filter: String) async throws -> [String] {
            try await client.searchMemories(MemorySearchRequest(namespacePrefix: namespace, filter: filter, limit: 100))
                .map(\.item.key).sorted()
        }
        let cases: [(String, [String])] = [
            (#"{"kind":"note"}"#, ["a", "b"]),
            (#"{"kind":{"$eq":"todo"}}"#, ["c", "d"]),
            (#"{"kind":{"$ne":"todo"}}"#, ["a", "b"]),
            (#"{"n":{"$gt":1}}"#, ["b", "c"]),
            (#"{"n":{"$gte":1}}"#, ["a", "b", "c"]),
            (#"{"n":{"$lt":2.5}}"#, ["a"]),
            (#"{"n":{"$lte":2.5}}"#, ["a", "b"]),
            (#"{"n":{"$gt":1,"$lt":10}}"#, ["b"]),
            (#"{"n":1.0}"#, ["a"]),
            (#"{"meta":{"lang":"en"}}"#, ["a", "c"]),
            (#"{"meta":{"stars":{"$gte":4}}}"#, ["a"]),
            (#"{"meta":{"lang":"en","stars":5}}"#, ["a"]),
            (#"{"tags":["x","y"]}"#, ["a"]),
            (#"{"done":null}"#, ["a", "b", "c", "d"]),
            (#"{"missing":{"$ne":1}}"#, ["a", "b", "c", "d"]),
            (#"{"name":{"$gt":"a"}}"#, ["d"]),
            (#"{"kind":"note","n":{"$gt":2}}"#, ["b"]),
            (#"{}"#, ["a", "b", "c", "d"]),
        ]
        for (filter, expected) in cases {
            let found = try await keys(filter)
            XCTAssertEqual(found, expected, filter)
        }
        await fixture.stop()
    }

    func testBatchRunsOperationsInOrderWithPerOperationErrors() async throws {
        let fixture = try await MemoryTestServer.start()
        let client = fixture.client
        let namespace = [MemoryTestData.uniqueRoot()]
        let results = try await client.memoryBatch([
            MemoryBatchOperation(.memoryPut, MemoryPutRequest(namespace: namespace, key: "a", value: #"{"v":1}"#)),
            MemoryBatchOperation(.memoryGet, MemoryGetRequest(namespace: namespace, key: "a")),
            MemoryBatchOperation(.memoryPut, MemoryPutRequest(namespace: [""], key: "bad", value: "{}")),
            MemoryBatchOperation(.memorySearch, MemorySearchRequest(namespacePrefix: namespace, limit: 10)),
            MemoryBatchOperation(.memoryListNamespaces, MemoryListNamespacesRequest(prefix: namespace)),
            MemoryBatchOperation(.memoryDelete, MemoryDeleteRequest(namespace: namespace, key: "a")),
            MemoryBatchOperation(.memoryGet, MemoryGetRequest(namespace: namespace, key: "a")),
            MemoryBatchOperation(opcode: .memoryBatch, body: MemoryBatchRequest(operations: []).encodedBody),
        ])
        XCTAssertEqual(results.map(\.isSuccess), [true, true, false, true, true, true, true, false])
        let put = try MemoryItem.decode(body: results[0].body)
        XCTAssertEqual(try MemoryGetResponse.decode(body: results[1].body).item, put)
        XCTAssertEqual(try ErrorBody.decode(body: results[2].body).code, .invalidArgument)
        XCTAssertEqual(try MemorySearchPage.decode(body: results[3].body).items.map(\.item.key), ["a"])
        XCTAssertEqual(try MemoryListNamespacesResponse.decode(body: results[4].body).namespaces, [namespace])
        XCTAssertTrue(results[5].body.isEmpty)
        XCTAssertNil(try MemoryGetResponse.decode(body: results[6].body).item)
        XCTAssertEqual(try ErrorBody.decode(body: results[7].body).code, .invalidArgument)
        await fixture.stop()
    }

    func testListNamespacesWithWildcardsDepthAndPaging() async throws {
        let fixture = try await MemoryTestServer.start()
        let client = fixture.client
        let root = MemoryTestData.uniqueRoot()
        let namespaces = [[root, "users", "u1", "memories"], [root, "users", "u2", "memories"],
                          [root, "users", "u2", "prefs"], [root, "agents", "a1", "memories"], [root, "usersx"]]
        for namespace in namespaces {
            _ = try await client.putMemory(MemoryPutRequest(namespace: namespace, key: "k", value: "{}"))
        }
        func list(_ request: MemoryListNamespacesRequest) async throws -> [[String]] {
            try await client.listMemoryNamespaces(request)
        }
        let everything = try await list(MemoryListNamespacesRequest(prefix: [root], limit: 100))
        XCTAssertEqual(everything, namespaces.sorted { $0.lexicographicallyPrecedes($1) })
        let users = try await list(MemoryListNamespacesRequest(prefix: [root, "users"]))
        XCTAssertEqual(users.count, 3)
        let wildcard = try await list(MemoryListNamespacesRequest(prefix: [root, "*", "u2"]))
        XCTAssertEqual(wildcard, [[root, "users", "u2", "memories"], [root, "users", "u2", "prefs"]])
        let suffix = try await list(MemoryListNamespacesRequest(prefix: [root], suffix: ["memories"]))
        XCTAssertEqual(suffix.count, 3)
        let suffixWildcard = try await list(MemoryListNamespacesRequest(prefix: [root], suffix: ["u2", "*"]))
        XCTAssertEqual(suffixWildcard.count, 2)
        let depth = try await list(MemoryListNamespacesRequest(prefix: [root], maxDepth: 2))
        XCTAssertEqual(depth, [[root, "agents"], [root, "users"], [root, "usersx"]])
        let paged = try await list(MemoryListNamespacesRequest(prefix: [root], maxDepth: 2, limit: 1, offset: 1))
        XCTAssertEqual(paged, [[root, "users"]])
        await fixture.stop()
    }
}
