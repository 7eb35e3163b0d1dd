// INTERIM (replaced by the Eisel-Lemire parser): JSON number grammar + glibc strtod, correct but slow.
#if canImport(Glibc)
import Glibc
#endif

@usableFromInline
struct ParsedNumber {
    @usableFromInline var double: Double = 0
    @usableFromInline var integer: Int64 = 0
    @usableFromInline var isInteger: Bool = false
    @usableFromInline var end: Int = 0
    @usableFromInline init() {}
}

@usableFromInline
enum NumberParser {
    @usableFromInline
    static func parse(_ base: UnsafePointer<UInt8>, start: Int, limit: Int, into r: inout ParsedNumber) -> Bool {
        var i = start
        func digit(_ k: Int) -> Bool { k < limit && base[k] >= 48 && base[k] <= 57 }
        if i < limit && base[i] == 45 { i += 1 }
        guard digit(i) else { r.end = i; return false }
        if base[i] == 48 { i += 1 } else { while digit(i) { i += 1 } }
        var isInt = true
        if i < limit && base[i] == 46 { isInt = false; i += 1; guard digit(i) else { r.end = i; return false }; while digit(i) { i += 1 } }
        if i < limit && (base[i] == 101 || base[i] == 69) {
            isInt = false; i += 1
            if i < limit && (base[i] == 43 || base[i] == 45) { i += 1 }
            guard digit(i) else { r.end = i; return false }
            while digit(i) { i += 1 }
        }
        let n = i - start
        r.isInteger = false
        if isInt && n <= 18 {
            var v: Int64 = 0
            var k = start
            let neg = base[k] == 45
            if neg { k += 1 }
            while k < i { v = v * 10 + Int64(base[k] - 48); k += 1 }
            r.integer = neg ? -v : v
            r.isInteger = true
            r.double = Double(r.integer)
            if neg && v == 0 { r.double = -0.0 }
            r.end = i
            return true
        }
        r.double = withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf in
            for k in 0..<n { buf[k] = CChar(bitPattern: base[start + k]) }
            buf[n] = 0
            return strtod(buf.baseAddress!, nil)
        }
        r.end = i
        return true
    }
}
