import WireProtocol

extension StoreClient {
    /// Decodes a response body as `M`; a body that does not decode is the server breaking the
    /// protocol. Shared by the domain extensions.
    func decodeResponse<M: WireMessage>(_ type: M.Type, from message: Message, operation: String) throws(StoreClientError) -> M {
        do {
            return try M.decode(body: message.body)
        } catch {
            throw .protocolViolation("undecodable \(operation) response: \(error)")
        }
    }
}
