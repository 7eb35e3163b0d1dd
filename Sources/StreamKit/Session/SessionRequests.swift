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

    /// Groups subscriptions by channel, platform and interval, in chunks, one request each.
    mutating func sendRequests(kind: PendingRequest.Kind, slots: [Int], now: Instant) {
        var groups: [String: [Int]] = [:]
        var order: [String] = []
        for slot in slots {
            guard let s = self.table[slot]?.subscription else { continue }
            let platform: Int64? = if case .address(let p, _) = s.target { p } else { nil }
            let key = "\(s.channel.rawValue)|\(platform ?? -1)|\(s.interval ?? "")"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(slot)
        }
        for key in order {
            let members = groups[key] ?? []
            var start = 0
            while start < members.count {
                let chunk = Array(members[start..<min(start + self.configuration.maxTargetsPerRequest, members.count)])
                start += chunk.count
                let subs = chunk.compactMap { self.table[$0]?.subscription }
                guard let first = subs.first, let params = SubscriptionParams(grouping: subs) else { continue }
                let id = self.takeRequestID()
                let request: ClientRequest =
                    kind == .subscribe ? .subscribe(first.channel, params) : .unsubscribe(first.channel, params)
                self.actions.append(.send(request.encoded(id: id)))
                self.pending[id] = PendingRequest(
                    kind: kind,
                    slots: chunk,
                    deadline: now.advanced(by: self.configuration.requestTimeout)
                )
                for slot in chunk { self.table[slot]?.status = kind == .subscribe ? .pending(id) : .unsubscribing(id) }
            }
        }
    }
}
