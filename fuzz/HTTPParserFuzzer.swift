// libFuzzer entry point for the HTTP/1.1 request parser; built by fuzz/run.sh, never by SwiftPM.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = ParserFuzzDriver.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
