// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import Testing

@testable import StreamKit

@Suite struct ProtocolTests {
    // MARK: - Requests

    /// The documented requests, byte for byte (the docs' spacing removed).
    @Test func documentedRequests() {
        #expect(
            ClientRequest.subscribe(.cryptoLatestPrice, SubscriptionParams(cryptoIDs: [1, 1027])).encodedString(id: 1)
                == #"{"id":1,"method":"subscribe","channel":"market@crypto_latest_price","params":{"crypto_ids":[1,1027]}}"#
        )
        let kline = SubscriptionParams(
            platformID: 14,
            addresses: ["0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d"],
            interval: "1m"
        )
        #expect(
            ClientRequest.unsubscribe(.kline, kline).encodedString(id: 2)
                == #"{"id":2,"method":"unsubscribe","channel":"onchain@kline","params":{"platform_id":14,"address":["0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d"],"interval":"1m"}}"#
        )
        #expect(
            ClientRequest.unsubscribe(.kline, nil).encodedString(id: 3)
                == #"{"id":3,"method":"unsubscribe","channel":"onchain@kline"}"#
        )
        #expect(ClientRequest.unsubscribeAll.encodedString(id: 4) == #"{"id":4,"method":"unsubscribe_all"}"#)
        #expect(ClientRequest.ping.encodedString(id: 1) == #"{"id":1,"method":"ping"}"#)
        #expect(ClientRequest.ping.encodedString(id: nil) == #"{"method":"ping"}"#)
    }

    /// A channel hashes by its case: every case its own number, so subscriptions of different channels never
    /// collide in the lookups each message makes (a shared number would be slow, not wrong: hence this test).
    @Test func channelsHashByTheirCase() {
        let ordinals = Channel.allCases.map(\.ordinal)
        #expect(Set(ordinals).count == Channel.allCases.count)
        #expect(ordinals == Array(0..<UInt64(Channel.allCases.count)))
        #expect(Channel.cryptoLatestPrice.hashValue == Channel(rawValue: "market@crypto_latest_price")?.hashValue)
    }

    @Test func addressParamNamesFollowTheChannel() {
        let p = SubscriptionParams(platformID: 16, addresses: ["DJpdHs4wbm1XqRruM1NPHnSfpnSztUEeFW3bcaDEeg7H"])
        #expect(ClientRequest.subscribe(.poolMetric, p).encodedString(id: nil).contains(#""pool_address":["#))
        #expect(ClientRequest.subscribe(.holderWalletUpdate, p).encodedString(id: nil).contains(#""wallet_address":["#))
        #expect(ClientRequest.subscribe(.tokenMetric, p).encodedString(id: nil).contains(#""address":["#))
    }

    /// Whatever a caller passes, the request is valid JSON that says exactly that.
    @Test func encodingEscapes() throws {
        let nasty = "a\"b\\c\nd\u{1}e\u{7F}é🚀"
        let text = ClientRequest.subscribe(.tokenAggEvent, SubscriptionParams(platformID: 1, addresses: [nasty]))
            .encodedString(id: Int64.max)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let params = try #require(object["params"] as? [String: Any])
        #expect((params["address"] as? [String]) == [nasty])
        #expect((object["id"] as? NSNumber)?.int64Value == Int64.max)
    }

    // MARK: - Subscriptions

    @Test func expansionAndNormalisation() throws {
        let subs = try SubscriptionParams(cryptoIDs: [1, 1027, 1]).subscriptions(for: .cryptoLatestPrice)
        #expect(subs.map(\.target) == [.crypto(id: 1), .crypto(id: 1027)])
        let reordered = try SubscriptionParams(cryptoIDs: [1027, 1]).subscriptions(for: .cryptoLatestPrice)
        #expect(Set(subs) == Set(reordered))

        let checksum = "0x0E09FaBB73Bd3Ade0a17ECC321fD13a19e81cE82"
        let lower = checksum.lowercased()
        let a = try Subscription(channel: .tokenMetric, target: .address(platformID: 14, address: checksum))
        let b = try Subscription(channel: .tokenMetric, target: .address(platformID: 14, address: lower))
        #expect(a == b)
        #expect(a.target == .address(platformID: 14, address: lower))

        let solana = "DJpdHs4wbm1XqRruM1NPHnSfpnSztUEeFW3bcaDEeg7H"
        let s1 = try Subscription(channel: .poolMetric, target: .address(platformID: 16, address: solana))
        let s2 = try Subscription(channel: .poolMetric, target: .address(platformID: 16, address: solana.lowercased()))
        #expect(s1 != s2)

        let both = try SubscriptionParams(platformID: 14, addresses: [checksum, lower], interval: "5m")
            .subscriptions(for: .kline)
        #expect(both.count == 1)
        let grouped = try #require(SubscriptionParams(grouping: both))
        #expect(grouped == SubscriptionParams(platformID: 14, addresses: [lower], interval: "5m"))
        #expect(Subscription.isEVMAddress(checksum) && !Subscription.isEVMAddress(solana))
        #expect(!Subscription.isEVMAddress("0x123"))
    }

    @Test func validationMatchesTheServersWording() {
        #expect(throws: RequestError(.missingParam, "Param 'crypto_ids' is required for channel 'market@crypto_latest_price'.")) {
            try ClientRequest.subscribe(.cryptoLatestPrice, SubscriptionParams()).validate()
        }
        #expect(throws: RequestError(.missingParam, "Param 'interval' is required for channel 'onchain@unique_trader'.")) {
            try ClientRequest.subscribe(.uniqueTrader, SubscriptionParams(platformID: 14, addresses: ["0xab"])).validate()
        }
        #expect(throws: RequestError.self) {
            try ClientRequest.subscribe(.kline, SubscriptionParams(platformID: 14, addresses: ["0xab"], interval: "1h")).validate()
        }
        #expect(throws: RequestError(.missingParam, "Param 'platform_id' is required for channel 'onchain@transaction'.")) {
            try ClientRequest.subscribe(.transaction, SubscriptionParams(addresses: ["0xab"])).validate()
        }
        #expect(throws: RequestError.self) {
            try ClientRequest.subscribe(.transaction, SubscriptionParams(platformID: 14, addresses: ["bad address"])).validate()
        }
        #expect(throws: RequestError.self) {
            try ClientRequest.subscribe(.tokenMetric, SubscriptionParams(platformID: 14, addresses: ["0xab"], interval: "1m")).validate()
        }
        #expect(throws: Never.self) {
            try ClientRequest.subscribe(.uniqueTrader, SubscriptionParams(platformID: 14, addresses: ["0xab"], interval: "1d")).validate()
            try ClientRequest.unsubscribe(.kline, nil).validate()
        }
        #expect(RequestError(.invalidParam, "x").code.rawValue == 2402)
    }

    // MARK: - Codes

    @Test func errorCodeTable() {
        #expect(StreamErrorCode.documented.count == 18)
        for code in StreamErrorCode.documented {
            #expect(code.documentedMessage != nil)
            #expect(code.category != .unknown)
            // Fatal: the codes about the key itself; every other AUTH code rejects the request it answers.
            let aboutTheKey: Set<Int> = [1001, 1002, 1003, 1004, 1007, 1010]
            let expected: StreamErrorCode.Disposition =
                aboutTheKey.contains(Int(code.rawValue)) ? .fatal : code.category == .server ? .retry : .rejectRequest
            #expect(code.disposition == expected, "\(code)")
            #expect(code.isFatalWithoutRequest == (code.category == .auth))
        }
        #expect(StreamErrorCode(rawValue: 9999).category == .unknown)
        #expect(StreamErrorCode(rawValue: 9999).disposition == .retry)
        #expect(StreamErrorCode.apiKeyDisabled.disposition == .fatal)
    }

    @Test func closeCodePolicy() {
        #expect(CloseCode.documented.count == 10)
        for code in CloseCode.documented {
            switch code.rawValue {
            case 4100, 4101, 4102: #expect(code.policy == .fatal)
            case 4004: #expect(code.policy == .retryAfterLongDelay)
            default: #expect(code.policy == .retry)
            }
            #expect(code.documentedReason != nil)
        }
        #expect(CloseCode.apiKeyInvalid.errorCode == .apiKeyInvalid)
        #expect(CloseCode.apiKeyDisabled.errorCode == .apiKeyDisabled)
        #expect(CloseCode.planNotSupported.errorCode == .planNotSupported)
        #expect(CloseCode.connectionLimit.errorCode == .connectionLimit)
        #expect(CloseCode(rawValue: 1006).policy == .retry)
    }

    // MARK: - Channels

    @Test(arguments: Channel.allCases)
    func channelNamesAreRecognised(_ channel: Channel) throws {
        let m = try decode(#"{"type":"ack","channel":"\#(channel.rawValue)"}"#)
        guard case .ack(let a) = m.frame else { Issue.record("not an ack"); return }
        #expect(a.channel == channel)
        for nearMiss in [String(channel.rawValue.dropLast()), channel.rawValue + "x", channel.rawValue.uppercased()] {
            let miss = try decode(#"{"type":"ack","channel":"\#(nearMiss)"}"#)
            guard case .ack(let b) = miss.frame else { Issue.record("not an ack"); return }
            #expect(b.channel == nil, "\(nearMiss)")
        }
        // Escaped channel names are still recognised.
        let escaped = channel.rawValue.replacingOccurrences(of: "@", with: "\\u0040")
        let e = try decode(#"{"type":"ack","channel":"\#(escaped)"}"#)
        guard case .ack(let c) = e.frame else { Issue.record("not an ack"); return }
        #expect(c.channel == channel)
    }
}
