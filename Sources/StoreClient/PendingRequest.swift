import Dispatch
import WireProtocol

/// Where the response to one request goes, and its local timeout.
struct PendingRequest {
    var sink: ResponseSink
    /// Fires the local timeout; cancelled when the request completes first.
    var timer: DispatchWorkItem?
}

enum ResponseSink {
    /// A call awaiting one final response.
    case single(SingleCallSlot)
    /// A call that receives partial responses (flag `stream`) and then the final one.
    case stream(AsyncThrowingStream<Message, any Error>.Continuation)
}

/// The request is registered and its frames queued before the caller's continuation exists (so
/// ids go out in order); a response or failure that comes first is parked until it arrives.
enum SingleCallSlot {
    case awaitingContinuation
    case waiting(CheckedContinuation<Message, any Error>)
    case finished(Result<Message, StoreClientError>)
}

/// Work decided under the connection's lock and run after it is released, because resuming a
/// continuation or yielding to a stream must not happen while holding the lock.
struct Completion {
    enum Action {
        case resume(CheckedContinuation<Message, any Error>, Result<Message, StoreClientError>)
        case yield(AsyncThrowingStream<Message, any Error>.Continuation, Message)
        case finish(AsyncThrowingStream<Message, any Error>.Continuation, Result<Message, StoreClientError>)
        case none
    }

    var action: Action
    var timer: DispatchWorkItem?

    func run() {
        timer?.cancel()
        switch action {
        case let .resume(continuation, result):
            continuation.resume(with: result.mapError { $0 as any Error })
        case let .yield(continuation, message):
            continuation.yield(message)
        case let .finish(continuation, result):
            switch result {
            case let .success(message):
                continuation.yield(message)
                continuation.finish()
            case let .failure(error):
                continuation.finish(throwing: error)
            }
        case .none:
            break
        }
    }
}
