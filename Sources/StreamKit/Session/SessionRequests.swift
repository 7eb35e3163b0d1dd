// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// Requests of a `Session`: ids, and subscriptions grouped and chunked into subscribe and unsubscribe requests.

extension Session {
    struct PendingRequest: Sendable {
        enum Kind: Sendable { case subscribe, unsubscribe, unsubscribeChannel, ignored }
        let kind: Kind
        let slots: [Int]
        var deadline: Instant
    }

    // MARK: - Internals: requests

    mutating func takeRequestID() -> Int64 {
        defer { self.nextRequestID += 1 }
        return self.nextRequestID
    }

    mutating func sendUnsent(now: Instant) {
        let unsent = self.table.slots.indices.filter { self.table[$0]?.status == .unsent && self.table[$0]?.retryAt == nil }
        if !unsent.isEmpty { self.sendRequests(kind: .subscribe, slots: unsent, now: now) }
    }

    /// Sends `kind` for the subscriptions in `slots`: one request per chunk (``SubscriptionTable/requestChunks``).
    mutating func sendRequests(kind: PendingRequest.Kind, slots: [Int], now: Instant) {
        // At least one target per request: a configured 0 or less would never finish chunking.
        for chunk in self.table.requestChunks(slots, maxTargets: max(1, self.configuration.maxTargetsPerRequest)) {
            let subs = chunk.compactMap { self.table[$0]?.subscription }
            guard let first = subs.first, let params = SubscriptionParams(grouping: subs) else { continue }
            let id = self.takeRequestID()
            let request: ClientRequest =
                kind == .subscribe ? .subscribe(first.channel, params) : .unsubscribe(first.channel, params)
            self.actions.append(.send(request.encoded(id: id)))
            self.connection.pending[id] = PendingRequest(
                kind: kind,
                slots: chunk,
                deadline: now.advanced(by: self.configuration.requestTimeout)
            )
            for slot in chunk { self.table[slot]?.status = kind == .subscribe ? .pending(id) : .unsubscribing(id) }
        }
    }
}

extension SubscriptionTable {
    /// Request chunking: the subscriptions in `slots` grouped by channel, platform and interval (groups in the
    /// order their first member comes), each group cut into chunks of at most `maxTargets`, in order. Free slots
    /// are skipped.
    func requestChunks(_ slots: [Int], maxTargets: Int) -> [[Int]] {
        var groups: [String: [Int]] = [:]
        var order: [String] = []
        for slot in slots {
            guard let s = self[slot]?.subscription else { continue }
            let platform: Int64? = if case .address(let p, _) = s.target { p } else { nil }
            let key = "\(s.channel.rawValue)|\(platform ?? -1)|\(s.interval ?? "")"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(slot)
        }
        var chunks: [[Int]] = []
        for key in order {
            let members = groups[key] ?? []
            var start = 0
            while start < members.count {
                let chunk = Array(members[start..<min(start + maxTargets, members.count)])
                start += chunk.count
                chunks.append(chunk)
            }
        }
        return chunks
    }
}
