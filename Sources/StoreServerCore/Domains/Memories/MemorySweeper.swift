// The background task of a memories domain instance: loads the index at start, deletes expired
// items every `sweepInterval`, and writes index snapshots when due.

enum MemorySweeper {
    /// Runs until cancelled or until the service is released (the task holds it weakly between
    /// ticks). A clean stop cancels it and waits, so no pass runs while the last snapshot is written.
    @discardableResult
    static func start(_ service: MemoryService) -> Task<Void, Never> {
        let tick = service.configuration.tickInterval
        let sweepInterval = service.configuration.sweepInterval
        let logger = service.logger
        return Task { [weak service] in
            var lastSweep = ContinuousClock.now
            do {
                try await service?.ready()
            } catch {
                logger.warning("memory index not loaded at start; will retry on first use", ["error": error])
            }
            while true {
                do {
                    try await Task.sleep(for: tick)
                } catch {
                    return // Cancelled: the process is ending.
                }
                guard let service, !Task.isCancelled else { return }
                do {
                    if ContinuousClock.now - lastSweep >= sweepInterval {
                        lastSweep = .now
                        let deleted = try await service.sweepExpired()
                        if deleted > 0 { logger.info("deleted expired memories", ["count": deleted]) }
                    }
                    try await service.writeSnapshotIfDue()
                } catch {
                    logger.warning("memory background pass failed", ["error": error])
                }
            }
        }
    }
}
