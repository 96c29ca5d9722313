// CHECKPOINT_PUT (0x0101): saves a checkpoint and the channel values that changed in it.

/// One entry of a checkpoint's channel_versions map.
public struct CheckpointChannelVersion: Sendable, Hashable, Codable {
    public var channel: String
    public var version: String

    public init(channel: String, version: String) {
        self.channel = channel
        self.version = version
    }
}

public struct CheckpointPutRequest: WireMessage, Hashable, Codable {
    public var threadID: String
    public var namespace: String
    public var checkpointID: String
    public var parentCheckpointID: String?
    public var checkpointType: String
    public var checkpoint: [UInt8]
    /// A JSON object; stored as jsonb so LIST can filter by containment.
    public var metadata: String
    /// The checkpoint's full channel_versions map.
    public var channelVersions: [CheckpointChannelVersion]
    /// Only the channels in new_versions; the others already exist at their versions.
    public var blobs: [CheckpointBlob]
    /// Fork protection (opt-in): when set, the put succeeds only if the newest checkpoint of
    /// (thread, namespace) is this id ("" = none yet) or already `checkpointID` (a retry).
    /// A trailing field: absent when the body ends after `blobs`, so older clients keep working.
    public var expectedLatestCheckpointID: String?

    public init(threadID: String, namespace: String = "", checkpointID: String, parentCheckpointID: String? = nil,
                checkpointType: String, checkpoint: [UInt8], metadata: String = "{}",
                channelVersions: [CheckpointChannelVersion] = [], blobs: [CheckpointBlob] = [],
                expectedLatestCheckpointID: String? = nil) {
        self.threadID = threadID
        self.namespace = namespace
        self.checkpointID = checkpointID
        self.parentCheckpointID = parentCheckpointID
        self.checkpointType = checkpointType
        self.checkpoint = checkpoint
        self.metadata = metadata
        self.channelVersions = channelVersions
        self.blobs = blobs
        self.expectedLatestCheckpointID = expectedLatestCheckpointID
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeString(threadID)
        writer.writeString(namespace)
        writer.writeString(checkpointID)
        writer.writeOptional(parentCheckpointID) { $0.writeString($1) }
        writer.writeString(checkpointType)
        writer.writeBytes(checkpoint)
        writer.writeString(metadata)
        writer.writeList(channelVersions) { writer, entry in
            writer.writeString(entry.channel)
            writer.writeString(entry.version)
        }
        writer.writeList(blobs) { writer, blob in blob.write(into: &writer) }
        // Written only when set, so a put without it is byte-identical to the older layout.
        if let expectedLatestCheckpointID {
            writer.writeOptional(expectedLatestCheckpointID) { $0.writeString($1) }
        }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CheckpointPutRequest {
        let threadID = try reader.readString("thread_id")
        let namespace = try reader.readString("checkpoint_ns")
        let checkpointID = try reader.readString("checkpoint_id")
        let parent: String? = try reader.readPresence("parent_checkpoint_id") ? try reader.readString("parent_checkpoint_id") : nil
        let checkpointType = try reader.readString("checkpoint_type")
        let checkpoint = try reader.readBytes("checkpoint")
        let metadata = try reader.readString("metadata")
        // Two strings of at least 4 bytes each.
        let versionCount = try reader.readCount("channel_versions", minimumElementBytes: 8)
        var versions: [CheckpointChannelVersion] = []
        versions.reserveCapacity(versionCount)
        for _ in 0..<versionCount {
            versions.append(CheckpointChannelVersion(channel: try reader.readString("channel"),
                                                     version: try reader.readString("version")))
        }
        let blobCount = try reader.readCount("blobs", minimumElementBytes: CheckpointBlob.encodedBytesMin)
        var blobs: [CheckpointBlob] = []
        blobs.reserveCapacity(blobCount)
        for _ in 0..<blobCount { blobs.append(try CheckpointBlob.read(from: &reader)) }
        var expectedLatest: String?
        if !reader.isAtEnd, try reader.readPresence("expected_latest") {
            expectedLatest = try reader.readString("expected_latest")
        }
        return CheckpointPutRequest(threadID: threadID, namespace: namespace, checkpointID: checkpointID,
                                    parentCheckpointID: parent, checkpointType: checkpointType, checkpoint: checkpoint,
                                    metadata: metadata, channelVersions: versions, blobs: blobs,
                                    expectedLatestCheckpointID: expectedLatest)
    }
}
