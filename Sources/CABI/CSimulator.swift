// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// sk_sim_*: the simulator, in-process, for C and Python users' own tests.

public import CStreamKit
import StreamKit
import StreamKitSimulator

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class CSimulator: @unchecked Sendable {
    let server: SimulatorServer
    let url: UnsafeMutablePointer<CChar>

    init(server: SimulatorServer) {
        self.server = server
        self.url = strdup(server.url)!
    }

    deinit {
        free(self.url)
    }
}

@_cdecl("sk_sim_start")
public func skSimStart(
    _ key: UnsafePointer<CChar>?, _ port: Int32, _ speed: Double, _ rate: Double, _ seed: UInt64,
    _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> sk_status {
    guard let out else { return SK_MISUSE }
    out.pointee = nil
    guard let key, key.pointee != 0, (0...65535).contains(port), speed.isFinite, speed > 0, !rate.isNaN else {
        return SK_INVALID_ARGUMENT
    }
    var configuration = SimulatorConfiguration(keys: [String(cString: key): .active])
    configuration.speed = speed
    configuration.seed = seed
    if rate > 0 { configuration.rate = rate } else if rate < 0 { configuration.rate = .infinity }
    let settings = configuration
    let result = Waiter<SimulatorServer?>.run(timeoutMS: 30_000) {
        try? await SimulatorServer.start(configuration: settings, port: Int(port))
    }
    guard let server = result ?? nil else { return SK_INVALID_ARGUMENT }  // the port is taken, or no loopback
    out.pointee = HandleRegistry.shared.register(CSimulator(server: server))
    return SK_OK
}

@_cdecl("sk_sim_url")
public func skSimURL(_ handle: OpaquePointer?) -> UnsafePointer<CChar>? {
    HandleRegistry.shared.lookup(handle, as: CSimulator.self).map { UnsafePointer($0.url) }
}

@_cdecl("sk_sim_inject")
public func skSimInject(_ handle: OpaquePointer?, _ fault: sk_fault, _ arg: Int64) -> sk_status {
    guard let sim = HandleRegistry.shared.lookup(handle, as: CSimulator.self) else { return SK_MISUSE }
    // One table names the kinds for every face (SimulatorFault.kinds); an unknown number or an argument out of
    // its range is refused.
    guard let kind = SimulatorFault.kinds.first(where: { UInt32($0.number) == fault.rawValue }), let f = kind.fault(arg) else {
        return SK_INVALID_ARGUMENT
    }
    sim.server.inject(f)
    return SK_OK
}

@_cdecl("sk_sim_counters")
public func skSimCounters(
    _ handle: OpaquePointer?, _ frames: UnsafeMutablePointer<Int64>?, _ data: UnsafeMutablePointer<Int64>?,
    _ connections: UnsafeMutablePointer<Int64>?
) -> sk_status {
    guard let sim = HandleRegistry.shared.lookup(handle, as: CSimulator.self) else { return SK_MISUSE }
    let c = sim.server.counters
    frames?.pointee = Int64(c.framesSent)
    data?.pointee = Int64(c.dataSent.values.reduce(0, +))
    connections?.pointee = Int64(c.connections)
    return SK_OK
}

@_cdecl("sk_sim_free")
public func skSimFree(_ handle: OpaquePointer?) {
    guard let sim = HandleRegistry.shared.unregister(handle, as: CSimulator.self) else { return }  // NULL, freed, made up
    sim.server.stop()
    HandleRegistry.release(sim)
}
