// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// Tests that measure the whole process's memory (the suite's soak bounds RSS growth) take this lock, and so do
/// tests that allocate megabytes for a moment (the capture tests: zstd contexts, read buffers, a simulator): the
/// soak's RSS figures then say something about the client alone, whatever ran beside it.
actor ProcessMemoryLock {
    static let shared = ProcessMemoryLock()
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Runs `body` holding the lock.
    static func run<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        await shared.acquire()
        do {
            let value = try await body()
            await shared.release()
            return value
        } catch {
            await shared.release()
            throw error
        }
    }

    private func acquire() async {
        if !self.held {
            self.held = true
            return
        }
        await withCheckedContinuation { self.waiters.append($0) }
    }

    private func release() {
        if self.waiters.isEmpty {
            self.held = false
        } else {
            self.waiters.removeFirst().resume()  // handed over: stays held
        }
    }
}
