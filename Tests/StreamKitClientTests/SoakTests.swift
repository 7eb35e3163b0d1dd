// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import StreamKitSoak
import Testing

/// The short soak of the test suite (`streamkit soak --duration 600` is the long one): every fault kind at least
/// once, then every push the simulator sent is accounted for.
@Suite(.serialized) struct SoakTests {
    @Test func shortSoakLosesNothingOutsideReportedGaps() async throws {
        var c = SoakConfiguration()
        c.duration = .seconds(15)
        c.meanFaultInterval = .milliseconds(350)
        c.pingIntervalMS = 1000
        c.connectionLimitDelay = .seconds(1)
        c.seed = 3
        // The run ends by rounds as well as time: past the 15 s until every kind is in (a sanitized build on two busy
        // cores takes longer, never fewer faults); the cap of 10 x 15 s fails it, naming what was never injected.
        c.minimumRounds = 1
        // Under AddressSanitizer (`make sanitize`) freed memory waits in the quarantine (256 MiB by default), so RSS
        // growth says nothing about leaks there: that run raises the bound (LeakSanitizer checks for leaks).
        if let bound = ProcessInfo.processInfo.environment["STREAMKIT_SOAK_RSS_BOUND_MIB"].flatMap(Double.init) {
            c.rssBoundMiB = bound
        }
        let config = c
        let report = try await ProcessMemoryLock.run { try await Soak.run(config) }
        #expect(report.passed, "\(report)")
        // One full round of the deck: every kind, the three fatal probes included.
        #expect(report.rounds >= 1 && report.roundsRequired == 1, "\(report)")
        #expect(report.faults.count == 18 && report.faults.allSatisfy { $0.count >= 1 }, "\(report)")
        #expect(report.lostOutsideGaps == 0 && report.deliveredTwice == 0)
        #expect(report.deliveredOnce > 1000, "\(report)")
        #expect(report.reconnects > 0 && report.gapMarkers > 0)
        #expect(report.probes >= 3 && report.probesPassed == report.probes)
    }

    /// A run that cannot complete its rounds by the cap fails, and says which kinds fell short and why.
    @Test func soakShortOfItsRoundsAtTheCapFailsNamingTheKinds() async throws {
        var c = SoakConfiguration()
        c.duration = .seconds(2)
        c.meanFaultInterval = .milliseconds(300)
        c.pingIntervalMS = 1000
        c.connectionLimitDelay = .seconds(1)
        c.seed = 4
        c.minimumRounds = 50  // 900 faults: far more than 2 s x the cap factor of 1 holds
        c.roundsCapFactor = 1
        c.rssBoundMiB = 512
        let report = try await Soak.run(c)
        #expect(!report.passed)
        #expect(report.rounds < 50 && report.roundsRequired == 50, "\(report)")
        let failure = try #require(report.failures.first { $0.contains("full rounds of the fault deck") }, "\(report)")
        #expect(failure.contains("short: ") && failure.contains("injected; refused: "), "\(failure)")
    }
}
